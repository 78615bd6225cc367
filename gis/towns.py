"""Towns (町名) in official addresses, and which towns lie near one another.

A site's town is its address after the municipality's name, up to the 丁目 number:
東京都北区田端5-4-1 is in 田端, while 東田端 and 田端新町 are towns of their own. People find
their way by town: the shelter pages index the sites by it, and a resident who will not (or,
on a page without JavaScript, cannot) share a location picks a town and sees the towns
nearest to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from pyproj import Geod

# The 丁目 number: digits (half or full width), or kanji numerals written before 丁目.
_TOWN = re.compile(r"(.+?)(?:[0-9０-９]|[一二三四五六七八九十]+丁目|$)")
_GEOD = Geod(ellps="GRS80")

# (lon, lat) in EPSG:4326
Position = tuple[float, float]


def town_of(address: str, municipality: str) -> str:
    """The town of `address` in `municipality` (田端 of 東京都北区田端5-4-1); the address
    itself when it names no town before a number."""
    rest = address.removeprefix(municipality).strip()
    match = _TOWN.match(rest)
    return match.group(1) if match else rest


def _metres(a: Position, b: Position) -> float:
    distance: float = _GEOD.inv(a[0], a[1], b[0], b[1])[2]
    return distance


def _closest(ours: Iterable[Position], theirs: Sequence[Position]) -> float:
    return min(_metres(a, b) for a in ours for b in theirs)


def nearest_towns(sites: Mapping[str, Sequence[Position]], town: str, count: int) -> list[str]:
    """The `count` other towns whose sites are closest to a site of `town` (geodesic
    metres between the nearest pair), nearest first; [] for a town with no site."""
    ours = sites.get(town)
    if not ours:
        return []
    others = [(name, _closest(ours, where)) for name, where in sites.items() if name != town]
    return [name for name, _ in sorted(others, key=lambda item: item[1])[:count]]
