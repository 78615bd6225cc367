"""The one Jinja environment of every page (crew, public, sandbox), and how a route renders.

`create_app` builds the environment once from the settings (`build_templates`) and keeps it
on the app; a route renders with `render(request, name, context)`. Templates are looked up
in a city's own folder first (`TEMPLATE_DIR`: a template there wins over the bundled one of
the same name), then in the bundled folders the app serves (the sandbox's only in sandbox
mode).

Every link, form, redirect and cookie path comes from the routes' names (`url_for` in a
template, `path_for` in Python), under the prefix the app is served at (`root_path`: a
reverse proxy's path prefix), so the pages work at /civic/crew/ as well as at /crew/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service.settings import Settings
from service.vocabulary import pages

SERVICE_DIR = Path(__file__).resolve().parent
CREW_TEMPLATES = SERVICE_DIR / "crew" / "templates"
PUBLIC_TEMPLATES = SERVICE_DIR / "templates"


def build_environment(settings: Settings, folders: Sequence[Path]) -> jinja2.Environment:
    """The Jinja environment of every page: `TEMPLATE_DIR` (when set) before `folders`,
    autoescaped, with the vocabulary (Jinja's i18n extension and `both`, see
    service/vocabulary/pages.py). The one place the environment is made, so anything every
    page needs (an extension, a global) is added here."""
    searched = [*([settings.pages.template_dir] if settings.pages.template_dir else []), *folders]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(searched), autoescape=True)
    env.globals["url_for"] = _url_for
    pages.install(env)
    return env


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """The path of the route or mount `name` with `params`, under the app's root_path: what
    a link, a redirect or a cookie's path holds (a path, not a URL: right whatever host and
    scheme a proxy puts in front)."""
    return request.url_for(name, **params).path


# Stands for a path parameter while a path is made once for many values (see path_maker).
_PLACEHOLDER: Final = "__value__"


def path_maker(request: Request, name: str, param: str) -> Callable[[int], str]:
    """A function of one path parameter's value to `path_for(request, name, param=value)`,
    resolving the route once: for pages that link to thousands of rows."""
    before, after = path_for(request, name, **{param: _PLACEHOLDER}).split(_PLACEHOLDER)
    return lambda value: f"{before}{value}{after}"


@jinja2.pass_context
def _url_for(context: jinja2.runtime.Context, name: str, /, **params: Any) -> str:
    """`url_for` in templates: `path_for` of the page's request."""
    request: Request = context["request"]
    return path_for(request, name, **params)


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
