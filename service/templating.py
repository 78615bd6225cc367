"""The one Jinja environment of every page (crew, public, sandbox), and how a route renders.

`create_app` builds the environment once from the settings (`build_templates`) and keeps it
on the app; a route renders with `render(request, name, context)`. Templates are looked up
in a city's own folder first (`TEMPLATE_DIR`: a template there wins over the bundled one of
the same name), then in the bundled folders the app serves (the sandbox's only in sandbox
mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parent
CREW_TEMPLATES = SERVICE_DIR / "crew" / "templates"
PUBLIC_TEMPLATES = SERVICE_DIR / "templates"


def build_environment(settings: Settings, folders: Sequence[Path]) -> jinja2.Environment:
    """The Jinja environment of every page: `TEMPLATE_DIR` (when set) before `folders`,
    autoescaped. The one place the environment is made, so anything every page needs (an
    extension, a global) is added here."""
    searched = [*([settings.pages.template_dir] if settings.pages.template_dir else []), *folders]
    return jinja2.Environment(loader=jinja2.FileSystemLoader(searched), autoescape=True)


def build_templates(settings: Settings, folders: Sequence[Path]) -> Jinja2Templates:
    """Starlette's template renderer over `build_environment`."""
    return Jinja2Templates(env=build_environment(settings, folders))


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `name` rendered with the app's environment (`request` is in the context)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
