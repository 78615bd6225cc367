"""The crew map: report clusters (cases) on a folium map over a base map, that works with no
internet and stays small and quick to build with 100k reports.

Every script and stylesheet the page loads is served by the app (`offline_assets`): the
copies come from npm (`frontend/`, copied into `service/crew/static/vendor/` by
`frontend/copy-assets.mjs`). The only other host the page asks anything of is the base map's
(`service/crew/basemaps.py`); without it (no internet) the markers, layers and boundary still
show, and the map says the base map could not be loaded.

Size and speed: one folium Marker with a Popup per cluster costs about a kilobyte of page and
a Jinja template compilation each (branca re-parses every element's output as a template).
Instead the clusters travel once, as one compact JSON block that PostGIS writes
(`service/crew/queries.py`, `encoded_clusters`), and `crewmap.js` (`service/crew/static/`,
ours) builds the markers in the browser and each popup on its first click. The overlays that
are off at first (shelters, facilities, hazard zones) are not in the page: crewmap.js fetches
each from `/crew/map/layers/<name>` when it is switched on. The block,
`<script type="application/json" id="<layer>_data">`, holds:

    v          format version (2)
    stride     values per cluster in `rows` (9)
    origin     [lon, lat] x 1e5, integers: the south-west corner of the data
    t0         minutes since 1970-01-01 UTC that the first cluster's `first` adds to
    tz         the time zone popups show times in
    categories, symbols, statuses, status_labels, colours
               lookup tables: a cluster carries indexes into them
    words      the popups' and notices' words, from the vocabulary
    detail, thumbnail
               [prefix, suffix] of a URL around the cluster id
    keep_view  whether the map keeps its view for the tab (the full map; back from a case)
    rows       flat array, per cluster (sorted by id):
               id - previous id, lon x 1e5 - origin, lat x 1e5 - origin, category, status,
               report count, first - previous first (minutes), last - first (minutes),
               photo (1: the thumbnail URL is there, 0: no photo)

Coordinates keep five decimals (about a metre), times whole minutes. Every text in the page
(categories, shelter names, zone labels, attributions) is escaped for where it goes: the
JSON blocks cannot close their <script>, and crewmap.js puts texts in with textContent.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import folium
import jinja2
from branca.element import Element, Figure
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import HeatMap, MarkerCluster
from folium.template import Template

from gis.clusters import STATUSES
from gis.facilities import FacilityCategory
from gis.hazards import HazardKind
from service.crew.basemaps import BaseMap
from service.vocabulary import label, report_status_label
from service.vocabulary.pages import FIRST, both, pboth

# Names in the LayerControl, in both languages.
LAYER_REPORTS: Final = pboth("map layer", "Reports").plain()
LAYER_HEAT: Final = pboth("map layer", "Heat map").plain()
LAYER_SHELTERS: Final = pboth("map layer", "Shelters").plain()
LAYER_HAZARDS: Final = pboth("map layer", "Hazard zones").plain()
LAYER_BOUNDARY: Final = pboth("map layer", "Service area").plain()
LAYER_FACILITIES: Final = pboth("map layer", "Facilities").plain()

# New reports in a warm colour, work under way in blue, closed ones in green and greys: the
# design tokens' colours that the pages' status badges use too (crew.css), each dark enough
# for the marker's white symbol.
DEFAULT_STATUS_COLOURS: Final[Mapping[str, str]] = {
    "received": "#ce0000",  # red-900
    "accepted": "#ac3e00",  # orange-900
    "in_progress": "#0017c1",  # blue-900
    "resolved": "#115a36",  # green-900
    "rejected": "#4d4d4d",  # solid-gray-700
    "duplicate": "#767676",  # solid-gray-536
}
_OTHER_STATUS_COLOUR: Final = "#666666"

DISPLAY_TIME_ZONE: Final = "Asia/Tokyo"

FORMAT_VERSION: Final = 2
STRIDE: Final = 9
# What the database writes into `rows`: integers and commas, nothing that could end a <script>.
_ROWS: Final = re.compile(r"-?\d+(?:,-?\d+)*|")
_SCALE: Final = 100_000  # 1e-5 degree: about 1.1 m north-south, 0.9 m east-west in Tokyo
_DIGITS: Final = 5
_MAX_ZOOM: Final = 19
_FIT_MAX_ZOOM: Final = 16  # a single cluster is shown at street level, not at zoom 19
_SHELTER_COLOUR: Final = "#00873c"  # the green of the JIS evacuation pictograms
# Layers fetched when switched on, in the layer control's order: slug, name, factory.
LAZY_LAYERS: Final = (
    ("shelters", LAYER_SHELTERS, "shelters"),
    ("facilities", LAYER_FACILITIES, "facilities"),
    ("hazards", LAYER_HAZARDS, "zones"),
)

_HAZARD_KINDS: Final[Mapping[str, HazardKind]] = {kind.value: kind for kind in HazardKind}
_HAZARD_COLOURS: Final[Mapping[HazardKind, str]] = {
    HazardKind.FLOOD: "#2b8cbe",
    HazardKind.INLAND_FLOOD: "#41b6c4",
    HazardKind.TSUNAMI: "#253494",
    HazardKind.STORM_SURGE: "#8856a7",
    HazardKind.LANDSLIDE: "#a6611a",
}
_OTHER_HAZARD_COLOUR: Final = "#636363"
# Badge text and colour per facility category: AED in the red of its signs, medical in blues.
_FACILITY_BADGES: Final[Mapping[FacilityCategory, tuple[str, str]]] = {
    FacilityCategory.AED: ("A", "#d32f2f"),
    FacilityCategory.HOSPITAL: ("H", "#1565c0"),
    FacilityCategory.CLINIC: ("+", "#42a5f5"),
    FacilityCategory.LIBRARY: ("図", "#6a1b9a"),
    FacilityCategory.WARD_OFFICE: ("役", "#37474f"),
    FacilityCategory.COMMUNITY_CENTRE: ("集", "#ef6c00"),
    FacilityCategory.HEALTH_CENTRE: ("保", "#00897b"),
    FacilityCategory.CHILDREN: ("児", "#f9a825"),
    FacilityCategory.SPORTS: ("体", "#2e7d32"),
    FacilityCategory.PARK: ("園", "#558b2f"),
    FacilityCategory.OTHER: ("施", "#757575"),
}
_BOUNDARY_STYLE: Final[Mapping[str, object]] = {
    "color": "#252525",
    "weight": 2,
    "dashArray": "6 4",
    "fill": False,
}

# Where each folium asset the map loads lives under the vendor URL, by folium's own names for
# them (so the local link replaces folium's CDN link instead of sitting beside it). The paths
# are the ones frontend/copy-assets.mjs writes.
_VENDOR_JS: Final[Mapping[str, str]] = {
    "leaflet": "leaflet/leaflet.js",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "leaflet-heat.js": "leaflet.heat/leaflet-heat.js",
}
_VENDOR_CSS: Final[Mapping[str, str]] = {
    "leaflet_css": "leaflet/leaflet.css",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
}
# folium assets this map does without. jQuery is only used by features we do not use
# (keep_in_front, GeoJson with embed=False); Bootstrap, the glyphicons, Font Awesome and
# Leaflet.awesome-markers (and folium's rotate CSS for them) only serve folium.Icon markers,
# and our markers and bubbles are drawn by crewmap.js; MarkerCluster.Default.css colours
# bubbles green/yellow/orange by size, which would read as statuses, so crewmap.js styles
# them. Leaving them out saves about 400 kB per first load.
_NOT_LOADED: Final = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
        "markerclusterdefaultcss",
    }
)


@dataclass(frozen=True)
class EncodedClusters:
    """Report clusters as the page carries them, encoded by the database
    (`queries.encoded_clusters`): `rows` is the text of the JSON array the module docstring
    describes, and the rest what it refers to."""

    count: int
    origin: tuple[int, int]
    # [lon, lat] x 1e5 of the north-east corner
    extent: tuple[int, int]
    t0: int
    # Codes, in the order the rows' indexes refer to.
    categories: Sequence[str]
    statuses: Sequence[str]
    heat_max: float
    rows: str

    def bounds(self) -> list[list[float]] | None:
        """[[south, west], [north, east]] of the clusters, None without any."""
        if not self.count:
            return None
        (x0, y0), (x1, y1) = self.origin, self.extent
        return [[y0 / _SCALE, x0 / _SCALE], [y1 / _SCALE, x1 / _SCALE]]


NO_CLUSTERS: Final = EncodedClusters(0, (0, 0), (0, 0), 0, (), STATUSES, 1.0, "")


@dataclass(frozen=True)
class CategoryLook:
    """How a report category shows on the map: its label and its marker's symbol."""

    label: str
    symbol: str


@dataclass(frozen=True)
class MapLinks:
    """Where a cluster's popup links, as [prefix, suffix] around its id: its case page and
    its thumbnail. Paths on this site ("/crew/...") or http(s) URLs."""

    detail: tuple[str, str]
    thumbnail: tuple[str, str]


@dataclass(frozen=True)
class MapLayers:
    """The overlays, each switchable in the map's layer control.

    boundary_geojson: the service area, drawn as an outline (in the page: it is on at first).
    lazy: {slug: URL} of the layers of LAZY_LAYERS that have data, fetched when switched on.
    credits: {slug ("boundary" or a lazy layer's): credit for its data} (plain text; the
        GSI, PLATEAU and National Land Numerical Information terms ask for one), in the
        map's attribution line while the layer is shown.
    """

    boundary_geojson: dict[str, Any] | None = None
    lazy: Mapping[str, str] = field(default_factory=dict)
    credits: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OfflineAssets:
    """Local URLs of the folium assets the crew map loads, keyed by folium's asset names."""

    js: Mapping[str, str]
    css: Mapping[str, str]

    def apply(self, element: Any) -> Any:
        """Point a folium element's asset links at the local copies and return it.

        The links are set on the instance: folium keeps them in class-level lists, shared by
        every map in the process. An asset with no local copy that is not knowingly left out
        raises ValueError rather than letting a CDN link into the page.
        """
        element.default_js = _local_links(type(element).default_js, self.js)
        element.default_css = _local_links(type(element).default_css, self.css)
        return element


def _local_links(
    links: Sequence[tuple[str, str]], local: Mapping[str, str]
) -> list[tuple[str, str]]:
    kept = []
    for name, url in links:
        if name in local:
            kept.append((name, local[name]))
        elif name not in _NOT_LOADED:
            raise ValueError(
                f"no local copy of folium asset {name!r} ({url}): "
                "add it to frontend/package.json and frontend/copy-assets.mjs"
            )
    return kept


def offline_assets(base_url: str) -> OfflineAssets:
    """The crew map's folium assets under `base_url`, the URL `service/crew/static/vendor/`
    is served at (e.g. "/crew/static/vendor")."""
    base = base_url.rstrip("/")
    return OfflineAssets(
        js={name: f"{base}/{path}" for name, path in _VENDOR_JS.items()},
        css={name: f"{base}/{path}" for name, path in _VENDOR_CSS.items()},
    )


def build_crew_map(
    clusters: EncodedClusters,
    *,
    asset_base: str,
    categories: Mapping[str, CategoryLook],
    links: MapLinks,
    basemaps: Sequence[BaseMap] = (),
    layers: MapLayers | None = None,
    status_colours: Mapping[str, str] | None = None,
    centre: tuple[float, float] | None = None,
    keep_view: bool = False,
) -> str:
    """The crew map as a complete HTML page.

    asset_base: the URL `service/crew/static/` is served at (e.g. "/assets"); the page
        loads `vendor/...` and `crewmap.js` from there and from nowhere else.
    categories: how each category code shows (a code without an entry shows as itself).
    basemaps: the base maps, the first shown (none: a blank background).
    status_colours: CSS colours by status code, over DEFAULT_STATUS_COLOURS.
    centre: (lon, lat) to open at; by default the map fits the clusters (or the service
        area when there are none).
    keep_view: keep the view the crew left for this tab, and show the status legend (the
        full map).
    """
    layers = layers or MapLayers()
    base = asset_base.rstrip("/")
    assets = offline_assets(f"{base}/vendor")
    crewmap_js = ("crewmap", f"{base}/crewmap.js")
    colours = {**DEFAULT_STATUS_COLOURS, **(status_colours or {})}

    bounds = clusters.bounds()
    boundary = zones(layers.boundary_geojson, hazards=False)
    if bounds is None and boundary is not None:
        bounds = _geojson_bounds(boundary["geojson"])

    location = None if centre is None else [centre[1], centre[0]]
    page = folium.Map(
        location=location,
        tiles=None,
        zoom_start=_FIT_MAX_ZOOM,
        control_scale=False,  # crewmap.js adds a metric one
        prefer_canvas=True,  # hazard polygons draw much faster on a canvas than as SVG
    )
    assets.apply(page)
    # Leaflet.markercluster needs a finite maxZoom on the map; folium's max_zoom argument
    # only goes to the base tile layer, which may not exist.
    page.options["max_zoom"] = _MAX_ZOOM
    _figure(page).title = both("Crew map").plain()
    if centre is None and bounds is not None:
        page.fit_bounds(bounds, max_zoom=_FIT_MAX_ZOOM)
    for index, basemap in enumerate(basemaps):
        page.add_child(_BaseMapLayer(basemap, crewmap_js, show=index == 0))

    reports = assets.apply(_ReportLayer())
    reports.default_js.append(crewmap_js)
    data = _report_data(clusters, categories, links, colours, keep_view)
    _add_with_data(page, reports, data)
    assets.apply(_ReportHeat(reports, clusters.heat_max)).add_to(page)
    for slug, name, factory in LAZY_LAYERS:
        if slug in layers.lazy:
            credit = _attribution_html(layers.credits.get(slug, ""))
            _LazyLayer(name, slug, factory, layers.lazy[slug], credit, crewmap_js).add_to(page)
    if boundary is not None:
        boundary["attribution"] = _attribution_html(layers.credits.get("boundary", ""))
        layer = _DataLayer(LAYER_BOUNDARY, "boundary", "zones", crewmap_js, show=True)
        _add_with_data(page, layer, boundary)
    folium.LayerControl().add_to(page)
    # folium's document names no language; screen readers then guess the Japanese wrong.
    return _figure(page).render().replace("<html>", '<html lang="ja">', 1)


def _attribution_html(text: str, url: str | None = None) -> str:
    # Leaflet shows attributions as HTML; folium's macro output is parsed again as a Jinja
    # template, so braces become entities too.
    shown = html.escape(text)
    if url is not None:
        shown = f'<a href="{html.escape(_checked_url(url))}" target="_blank">{shown}</a>'
    return shown.replace("{", "&#123;").replace("}", "&#125;")


def _report_data(
    clusters: EncodedClusters,
    categories: Mapping[str, CategoryLook],
    links: MapLinks,
    colours: Mapping[str, str],
    keep_view: bool,
) -> _RawJson:
    """The reports' JSON block (see the module docstring) around the database's rows."""
    if not _ROWS.fullmatch(clusters.rows):
        raise ValueError("encoded cluster rows must be integers separated by commas")
    for template in (links.detail, links.thumbnail):
        _checked_url(template[0] or "/")
    looks = [categories.get(code, CategoryLook(code, code[:1])) for code in clusters.categories]
    case = both("Case No.{id}", id="{id}")
    head = {
        "v": FORMAT_VERSION,
        "stride": STRIDE,
        "origin": list(clusters.origin),
        "t0": clusters.t0,
        "tz": DISPLAY_TIME_ZONE,
        "categories": [look.label for look in looks],
        "symbols": [look.symbol for look in looks],
        "statuses": list(clusters.statuses),
        "status_labels": [report_status_label(status, FIRST) for status in clusters.statuses],
        "colours": [colours.get(status, _OTHER_STATUS_COLOUR) for status in clusters.statuses],
        "detail": list(links.detail),
        "thumbnail": list(links.thumbnail),
        "keep_view": keep_view,
        "legend": keep_view,
        "words": {
            "case": str(case.ja),
            "status": both("Status").plain(),
            "reports": pboth("count", "Reports").plain(),
            "first": both("First").plain(),
            "latest": both("Latest").plain(),
            "open": both("Open the case").plain(),
            "bubble": both("{n} cases here: zoom in", n="{n}").plain(),
            "photo": both("Photo").plain(),
            "no_layer": both("This layer could not be loaded.").plain(),
        },
    }
    return _RawJson(_json_for_html(head)[:-1] + ',"rows":[' + clusters.rows + "]}")


class _RawJson(str):
    """JSON text already made safe for a <script> block (`_add_with_data` puts it in as is)."""

    __slots__ = ()


def _checked_url(url: str) -> str:
    """`url` if it is a path on this site or an http(s) URL: no javascript: or data: links,
    and nothing a browser would read as another host ("//host", "/\\host", tabs)."""
    if any(ord(char) <= 0x20 or char == "\\" for char in url):
        raise ValueError(f"crew map URL with whitespace or backslash: {url!r}")
    if (url.startswith("/") and not url.startswith("//")) or url.startswith(
        ("https://", "http://")
    ):
        return url
    raise ValueError(f"crew map URL must be a path (/...) or an http(s) URL: {url!r}")


def shelters_data(shelters: Sequence[tuple[float, float, str]]) -> dict[str, Any]:
    """The shelters layer's data: [lat, lon, name] per shelter, and their colour."""
    points = []
    for lon, lat, name in shelters:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"shelter {name!r}: lon/lat out of range (give lon, lat, name)")
        points.append([round(lat, _DIGITS), round(lon, _DIGITS), name])
    return {"colour": _SHELTER_COLOUR, "points": points}


def facilities_data(facilities: Sequence[tuple[float, float, str, str]]) -> dict[str, Any]:
    """The facilities layer's data: points as [lat, lon, name, category index], and per
    category its label, badge text and colour (crewmap.js draws a badge per category)."""
    # In vocabulary order; FacilityCategory() refuses a code it does not know.
    codes = {FacilityCategory(code) for *_, code in facilities}
    categories = [category for category in FacilityCategory if category in codes]
    index = {str(category): number for number, category in enumerate(categories)}
    points = []
    for lon, lat, name, code in facilities:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"facility {name!r}: lon/lat out of range (give lon, lat, ...)")
        points.append([round(lat, _DIGITS), round(lon, _DIGITS), name, index[code]])
    legend = [
        {
            "label": label(category, FIRST),
            "badge": _FACILITY_BADGES[category][0],
            "colour": _FACILITY_BADGES[category][1],
        }
        for category in categories
    ]
    return {"categories": legend, "points": points}


def zones(geojson: Mapping[str, Any] | None, *, hazards: bool) -> dict[str, Any] | None:
    """The data of a polygon layer (hazard zones, the service area): slimmed features
    (rounded coordinates, only a style index and a tooltip text kept), their styles, and
    whether they take the mouse."""
    if geojson is None:
        return None
    styles: list[Mapping[str, object]] = [] if hazards else [_BOUNDARY_STYLE]
    style_index: dict[str, int] = {}
    features = []
    for feature in _features(geojson):
        properties = feature.get("properties") or {}
        tooltip = ""
        style = 0
        if hazards:
            name = str(properties.get("kind") or properties.get("hazard") or "")
            kind = _HAZARD_KINDS.get(name)
            colour = _OTHER_HAZARD_COLOUR if kind is None else _HAZARD_COLOURS[kind]
            if colour not in style_index:
                style_index[colour] = len(styles)
                styles.append({"color": colour, "weight": 1, "fillColor": colour})
            style = style_index[colour]
            detail = properties.get("label_ja")
            tooltip = " ".join(
                str(part) for part in (name if kind is None else label(kind, FIRST), detail) if part
            )
        geometry = feature.get("geometry")
        features.append(
            {
                "type": "Feature",
                "geometry": None if geometry is None else _rounded_geometry(geometry),
                "properties": {"s": style, "t": tooltip},
            }
        )
    return {
        "styles": styles,
        "interactive": hazards,
        "geojson": {"type": "FeatureCollection", "features": features},
    }


def _features(geojson: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        return list(geojson.get("features") or [])
    if kind == "Feature":
        return [geojson]
    return [{"type": "Feature", "geometry": geojson, "properties": {}}]


def _rounded_geometry(geometry: Mapping[str, Any]) -> dict[str, Any]:
    if geometry.get("type") == "GeometryCollection":
        parts = [_rounded_geometry(part) for part in geometry.get("geometries") or []]
        return {"type": "GeometryCollection", "geometries": parts}
    return {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])}


def _rounded(coordinates: Any) -> Any:
    # A position is a list of numbers: keep lon, lat (no height) to five decimals.
    if coordinates and isinstance(coordinates[0], int | float):
        return [round(coordinates[0], _DIGITS), round(coordinates[1], _DIGITS)]
    return [_rounded(part) for part in coordinates]


def _geojson_bounds(geojson: Mapping[str, Any]) -> list[list[float]] | None:
    positions = [
        position
        for feature in geojson["features"]
        if feature["geometry"] is not None
        for position in _positions(feature["geometry"])
    ]
    if not positions:
        return None
    lons = [position[0] for position in positions]
    lats = [position[1] for position in positions]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _positions(geometry: Mapping[str, Any]) -> Iterator[list[float]]:
    if geometry["type"] == "GeometryCollection":
        for part in geometry["geometries"]:
            yield from _positions(part)
        return
    stack = [geometry["coordinates"]]
    while stack:
        item = stack.pop()
        if item and isinstance(item[0], int | float):
            yield item
        else:
            stack.extend(item)


def _json_for_html(value: object) -> str:
    """Compact JSON that can sit inside <script>: "<" (and ">", "&") as \\u escapes, so no
    text in it can close the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Raw(Element):
    """Text put into the page verbatim.

    branca turns what an element's macros render into a new Jinja template and renders that
    again: data in a macro would be parsed as a template ("{{ ... }}" in a category would run
    on the server) and a 2 MB literal takes long to parse. This element only prints its text.
    """

    _template = jinja2.Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def _add_with_data(page: folium.Map, layer: Any, data: object) -> None:
    """Add `layer` to the map and `data` to the page body once, as the JSON block
    "<layer name>_data" the layer's script reads."""
    layer.add_to(page)
    name = f"{layer.get_name()}_data"
    text = data if isinstance(data, _RawJson) else _json_for_html(data)
    block = f'<script type="application/json" id="{name}">{text}</script>'
    _figure(page).html.add_child(_Raw(block), name=name)


def _figure(page: folium.Map) -> Figure:
    figure = page.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("a folium Map is always in a Figure")
    return figure


class _ReportLayer(MarkerCluster):
    """The clusters as markers, grouped client-side by Leaflet.markercluster."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CrewMap.reports(
                {{ this._parent.get_name() }},
                {{ (this.get_name() ~ "_data")|tojson }},
                {{ this.options|tojavascript }}
            );
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            name=LAYER_REPORTS,
            # Adds the 60k markers in slices between frames instead of freezing the page.
            chunked_loading=True,
            # The hull of a big bubble's members is costly to compute and not worth it here.
            show_coverage_on_hover=False,
        )
        self._name = "crew_reports"


class _ReportHeat(HeatMap):
    """A heat map of the clusters weighted by report count, from the report layer's points
    (the data is in the page once)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.heatLayer(
                {{ this.reports.get_name() }}.crewLatLngs,
                {{ this.options|tojavascript }}
            );
        {% endmacro %}
        """
    )

    def __init__(self, reports: _ReportLayer, heat_max: float) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            [],
            name=LAYER_HEAT,
            show=False,
            min_opacity=0.3,
            max_zoom=_FIT_MAX_ZOOM,
            radius=20,
            blur=15,
            max=heat_max,
        )
        self.reports = reports


class _DataLayer(JSCSSMixin, Layer):
    """A layer that crewmap.js builds from a JSON block: `CrewMap.<factory>(block id)`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CrewMap.{{ this.factory }}(
                {{ (this.get_name() ~ "_data")|tojson }}
            );
        {% endmacro %}
        """
    )

    def __init__(
        self, name: str, slug: str, factory: str, crewmap_js: tuple[str, str], *, show: bool
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = f"crew_{slug}"
        self.factory = factory
        self.default_js = [crewmap_js]


def basemap_spec(basemap: BaseMap) -> dict[str, Any]:
    """A base map as `CrewMap.basemap` (crewmap.js) makes it: its tiles, credit, zooms, name
    in the layer control, and what the map says when none of its tiles loads. The crew map
    and the alert page's map use it."""
    return {
        "name": basemap.name,
        "url": _checked_url(basemap.url),
        "attribution": _attribution_html(basemap.credit, basemap.credit_url),
        "min_zoom": basemap.min_zoom,
        "max_native_zoom": basemap.max_native_zoom,
        "max_zoom": _MAX_ZOOM,
        "unavailable": both("The base map could not be loaded (no internet?).").plain(),
    }


class _BaseMapLayer(JSCSSMixin, Layer):
    """A base map, made by crewmap.js (which says so on the map when its tiles cannot be
    loaded)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CrewMap.basemap({{ this.spec|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, basemap: BaseMap, crewmap_js: tuple[str, str], *, show: bool) -> None:
        super().__init__(name=basemap.name, overlay=False, control=True, show=show)
        self._name = "crew_basemap"
        self.default_js = [crewmap_js]
        self.spec = basemap_spec(basemap)


class _LazyLayer(JSCSSMixin, Layer):
    """An overlay that crewmap.js fetches from `url` when it is first switched on."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CrewMap.lazy(
                {{ this.factory|tojson }}, {{ this.url|tojson }}, {{ this.credit|tojson }}
            );
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        slug: str,
        factory: str,
        url: str,
        credit: str,
        crewmap_js: tuple[str, str],
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=False)
        self._name = f"crew_{slug}"
        self.factory = factory
        self.url = _checked_url(url)
        self.credit = credit
        self.default_js = [crewmap_js]
