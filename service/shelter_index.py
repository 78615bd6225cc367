"""The shelter lists as people look through them on a phone: by town (町名), open sites only,
and the towns near a chosen one. The crew's shelter board and the public page both show
`index_sites`; every choice is a query parameter, so the pages need no JavaScript.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from gis.shelter_status import ShelterStatus, SiteStatus
from gis.towns import nearest_towns

# Towns offered beside a chosen one: a neighbourhood, not the whole ward again.
NEARBY_TOWNS = 4


@dataclass(frozen=True)
class Town:
    """A town of the index: how many sites it has, and how many of them are open."""

    name: str
    sites: int
    open: int


@dataclass(frozen=True)
class ShelterIndex:
    """What a shelter page shows: the chosen sites (in the order given), every town with its
    counts, and the towns nearest the chosen one."""

    sites: list[SiteStatus]
    towns: list[Town]
    town: str | None
    open_only: bool
    nearby: list[Town]

    @property
    def unknown_town(self) -> bool:
        """A town was asked for that has no site (mistyped, or a town without a site)."""
        return self.town is not None and all(t.name != self.town for t in self.towns)


def index_sites(
    sites: Sequence[SiteStatus], *, town: str | None = None, open_only: bool = False
) -> ShelterIndex:
    """The sites in `town` (all towns: None), only the open ones when `open_only`, with the
    town index of all `sites` (by name) and the towns nearest `town`."""
    town = (town or "").strip() or None
    counts = Counter(site.town for site in sites)
    opened = Counter(site.town for site in sites if site.status is ShelterStatus.OPEN)
    towns = {name: Town(name, counts[name], opened[name]) for name in sorted(counts)}
    chosen = [
        site
        for site in sites
        if (town is None or site.town == town)
        and (not open_only or site.status is ShelterStatus.OPEN)
    ]
    positions: dict[str, list[tuple[float, float]]] = {}
    for site in sites:
        positions.setdefault(site.town, []).append((site.lon, site.lat))
    near = nearest_towns(positions, town, NEARBY_TOWNS) if town else []
    return ShelterIndex(chosen, list(towns.values()), town, open_only, [towns[n] for n in near])
