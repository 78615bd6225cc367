"""The base maps under the crew maps, from `BASEMAP_URL` and `BASEMAP_ATTRIBUTION`.

Unset, they are GSI's tiles (地理院タイル): the pale map first (markers stand out on it),
then the standard map and the seamless aerial photos (road surfaces), switchable in the
map's layer control and credited as GSI asks (「地理院タイル」 linked to its list of tiles,
visible whenever tiles are). A city's own template is the one base map, with its credit;
`none` draws none. The map pages' CSP lets images come from exactly these tile hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from service.settings import GSI_ATTRIBUTION, GSI_TILES, MapSettings
from service.vocabulary.pages import pboth

# Most tile sets, GSI's too, stop at 18: Leaflet enlarges the last level beyond it.
_MAX_NATIVE_ZOOM: Final = 18
# GSI's seamless photos are its own aerial photos from level 14 down; further out they are
# satellite images credited otherwise, so the photo layer starts there.
_GSI_PHOTO_MIN_ZOOM: Final = 14


@dataclass(frozen=True)
class BaseMap:
    """One base map: its name in the layer control, its tile template, its credit (text, and
    the URL it links to, if any)."""

    name: str
    url: str
    credit: str
    credit_url: str | None = None
    min_zoom: int = 0
    max_native_zoom: int = _MAX_NATIVE_ZOOM


def _credit(attribution: str) -> tuple[str, str | None]:
    """("地理院タイル", "https://…") from "地理院タイル https://…"; a credit without a URL
    stays text."""
    text, _, last = attribution.strip().rpartition(" ")
    if text and last.startswith(("https://", "http://")):
        return text.strip(), last
    return attribution.strip(), None


def basemaps(settings: MapSettings) -> list[BaseMap]:
    """The base maps in the order the layer control lists them (the first is shown)."""
    if settings.basemap_url == "none":
        return []
    if settings.basemap_url is not None:
        credit, link = _credit(settings.basemap_attribution)
        name = pboth("base map", "Base map").plain()
        return [BaseMap(name, settings.basemap_url, credit, link)]
    credit, link = _credit(settings.basemap_attribution or GSI_ATTRIBUTION)
    return [
        BaseMap(
            pboth("base map", "Pale map").plain(),
            f"{GSI_TILES}/pale/{{z}}/{{x}}/{{y}}.png",
            credit,
            link,
        ),
        BaseMap(
            pboth("base map", "Standard map").plain(),
            f"{GSI_TILES}/std/{{z}}/{{x}}/{{y}}.png",
            credit,
            link,
        ),
        BaseMap(
            pboth("base map", "Aerial photos").plain(),
            f"{GSI_TILES}/seamlessphoto/{{z}}/{{x}}/{{y}}.jpg",
            credit,
            link,
            min_zoom=_GSI_PHOTO_MIN_ZOOM,
        ),
    ]


def tile_origins(maps: list[BaseMap]) -> list[str]:
    """The scheme://host[:port] of every base map's tiles, each once, for the CSP."""
    origins: list[str] = []
    for basemap in maps:
        parts = urlsplit(basemap.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return origins
