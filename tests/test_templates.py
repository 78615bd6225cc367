"""A city's own templates (TEMPLATE_DIR) win over the bundled ones; the rest stay bundled."""

from __future__ import annotations

from pathlib import Path

import httpx

from service.app import create_app
from service.sandbox import LinePlatformStandIn
from service.settings import PageSettings
from tests.utils.app import make_settings
from tests.utils.servers import serve


def test_a_city_template_dir_overrides_pages_and_the_base_they_extend(
    empty_url: str, standin_server: tuple[LinePlatformStandIn, str], tmp_path: Path
) -> None:
    city = tmp_path / "city-templates"
    city.mkdir()
    # The crew pages extend "base.html": the city's base frames every one of them.
    (city / "base.html").write_text(
        "<!doctype html><title>{% block title %}{% endblock %}</title>"
        "<p>北区役所 道路公園課</p>{% block content %}{% endblock %}",
        encoding="utf-8",
    )
    (city / "shelters_public.html").write_text(
        "<!doctype html><h1>北区 避難場所</h1><p>{{ sites | length }} sites</p>", encoding="utf-8"
    )
    settings = make_settings(empty_url, standin_server[1], pages=PageSettings(TEMPLATE_DIR=city))
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, trust_env=False) as web:
        login = web.get("/crew/login")
        public = web.get("/shelters")
    assert login.status_code == 200
    assert "北区役所 道路公園課" in login.text
    # The bundled login form, inside the city's frame.
    assert 'name="password"' in login.text
    assert "職員用ページ" not in login.text
    assert public.status_code == 200
    assert "<h1>北区 避難場所</h1><p>0 sites</p>" in public.text


def test_without_a_template_dir_the_bundled_pages_are_served(
    empty_url: str, standin_server: tuple[LinePlatformStandIn, str]
) -> None:
    settings = make_settings(empty_url, standin_server[1])
    assert settings.pages.template_dir is None
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, trust_env=False) as web:
        login = web.get("/crew/login")
    assert "職員用ページ" in login.text
