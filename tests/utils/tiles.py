"""A stand-in for a tile server (XYZ PNG tiles), served on a loopback port by the tests, so
the base map is tested without the internet: each tile is a pale synthetic square with a
grid, and every request is recorded. Its fixture (`tiles`) is loaded by conftest.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.utils.servers import serve


def _tile() -> bytes:
    image = Image.new("RGB", (256, 256), (236, 238, 232))
    draw = ImageDraw.Draw(image)
    for at in range(0, 256, 64):
        draw.line([(at, 0), (at, 255)], fill=(210, 214, 206))
        draw.line([(0, at), (255, at)], fill=(210, 214, 206))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class TileServer:
    """The stand-in's URL template and what it was asked for."""

    template: str
    requested: list[str] = field(default_factory=list)
    # While False, every tile answers 503 (a tile server out of reach).
    up: bool = True


@contextmanager
def tile_server() -> Iterator[TileServer]:
    """A tile stand-in on a free loopback port; stopped on exit."""
    tile = _tile()
    state = TileServer(template="")

    async def answer(request: Request) -> Response:
        state.requested.append(request.url.path)
        if not state.up:
            return Response(status_code=503)
        return Response(tile, media_type="image/png")

    app = Starlette(routes=[Route("/tiles/{z:int}/{x:int}/{y:int}.png", answer)])
    with serve(app) as url:
        state.template = url + "/tiles/{z}/{x}/{y}.png"
        yield state


@pytest.fixture(scope="session")
def tiles() -> Iterator[TileServer]:
    """The tile stand-in, up, for the session (a test that takes it down puts it back)."""
    with tile_server() as server:
        yield server
