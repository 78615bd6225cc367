"""The domain's errors answered in one place: routes raise them and catch none.

`install_error_handlers(app)` registers a handler per error class. The status is the class's
(`STATUSES`; a throttled login also says when to try again). A route whose page shows errors
(a crew page a form was posted from) declares how with `show_errors_on`, and the error is
shown there; any other route answers JSON (`{"detail": …}`, as FastAPI's own errors). Open311
answers in the spec's error format, JSON or XML by the path's suffix. An answer carries the
headers its route class set on the request (`request.state.route_headers`: the crew pages'
security headers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from gis.shelter_status import StatusError
from service.alerts import AlertError
from service.body_limit import BodyTooLarge, route_path
from service.crew.auth import AccountError, Throttled
from service.open311.formats import Fmt, Open311Error, error_response, format_of
from service.reports import WorkflowError

# The HTTP status of each domain error a route may raise (subclasses included).
STATUSES: Mapping[type[Exception], int] = {
    WorkflowError: 400,
    AlertError: 400,
    StatusError: 400,
    AccountError: 400,  # a weak password among them
    Throttled: 429,
}

# A page showing the error (None: this one cannot, answer JSON).
ErrorPage = Callable[[Exception], Awaitable[Response | None]]


def show_errors_on(request: Request, page: ErrorPage) -> None:
    """Show this request's domain errors with `page` (the page the form was posted from,
    with the error displayed), instead of JSON."""
    request.state.error_page = page


def _status(exc: Exception) -> int:
    return next(status for error, status in STATUSES.items() if isinstance(exc, error))


async def _domain_error(request: Request, exc: Exception) -> Response:
    status = _status(exc)
    page: ErrorPage | None = getattr(request.state, "error_page", None)
    shown = await page(exc) if page is not None else None
    response = shown or JSONResponse({"detail": str(exc)}, status)
    response.status_code = status
    if isinstance(exc, Throttled):
        response.headers["Retry-After"] = str(exc.retry_after)
    route_headers: Mapping[str, str] = getattr(request.state, "route_headers", {})
    for name, value in route_headers.items():
        response.headers.setdefault(name, value)
    return response


async def _open311_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)  # noqa: S101  (registered for that class only)
    return error_response(format_of(request), exc)


def too_large(path: str, limit: int) -> Response:
    """The 413 of a request body over `limit` bytes (Open311 in the spec's format)."""
    error = BodyTooLarge(limit)
    if path.startswith("/open311/"):
        fmt: Fmt = "json" if path.endswith(".json") else "xml"
        return error_response(fmt, Open311Error(413, [error.detail]))
    return JSONResponse({"detail": error.detail}, 413)


async def _body_too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)  # noqa: S101  (registered for that class only)
    response = too_large(route_path(request.scope), exc.limit)
    response.headers.update(exc.headers or {})
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Answer the domain's errors on `app`."""
    for error in STATUSES:
        app.add_exception_handler(error, _domain_error)
    app.add_exception_handler(Open311Error, _open311_error)
    app.add_exception_handler(BodyTooLarge, _body_too_large)
