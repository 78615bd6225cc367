"""The crew map: report clusters on a folium map that works with no internet and stays small
and quick to build with 100k reports.

Every script and stylesheet the page loads is served by the app (`offline_assets`): the
copies come from npm (`frontend/`, copied into `service/crew/static/vendor/` by
`frontend/copy-assets.mjs`). There is no base map unless a tile URL is given: a municipal
network may have no internet, and the markers show on a blank background.

Size and speed: one folium Marker with a Popup per cluster costs about a kilobyte of page and
a Jinja template compilation each (branca re-parses every element's output as a template).
Instead the clusters travel once, as one compact JSON block, and `crewmap.js`
(`service/crew/static/`, ours) builds the markers in the browser and each popup on its first
click. The block, `<script type="application/json" id="<layer>_data">`, holds:

    v          format version (1)
    stride     values per cluster in `rows` (10)
    origin     [lon, lat] x 1e5, integers: the south-west corner of the data
    t0         minutes since 1970-01-01 UTC that the first cluster's `first` adds to
    tz         the time zone popups show times in
    categories, statuses, status_labels, colours
               lookup tables: a cluster carries indexes into them
    words      the popups' words (status, reports, first, latest, details), from the
               vocabulary
    detail, thumbnail
               [prefix, suffix] of a URL around the cluster id, or null
    rows       flat array, per cluster (sorted by id):
               id - previous id, lon x 1e5 - origin, lat x 1e5 - origin, category, status,
               report count, first - previous first (minutes), last - first (minutes),
               detail URL slot, thumbnail URL slot
               (URL slot: 0 none, 1 template with the id, or the URL itself)

Coordinates keep five decimals (about a metre), times whole minutes. Every text in the page
(categories, shelter names, zone labels, attributions) is escaped for where it goes: the
JSON blocks cannot close their <script>, and crewmap.js puts texts in with textContent.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Final

import folium
import jinja2
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import HeatMap, MarkerCluster
from folium.template import Template

from gis.clusters import STATUSES
from gis.facilities import FacilityCategory
from gis.hazards import HazardKind
from service.vocabulary import label, report_status_label
from service.vocabulary.pages import FIRST, both, pboth

# Names in the LayerControl, in both languages.
LAYER_REPORTS: Final = pboth("map layer", "Reports").plain()
LAYER_HEAT: Final = pboth("map layer", "Heat map").plain()
LAYER_SHELTERS: Final = pboth("map layer", "Shelters").plain()
LAYER_HAZARDS: Final = pboth("map layer", "Hazard zones").plain()
LAYER_BOUNDARY: Final = pboth("map layer", "Service area").plain()
LAYER_FACILITIES: Final = pboth("map layer", "Facilities").plain()

# New reports in a warm colour, work under way in blue, closed ones in green and greys.
DEFAULT_STATUS_COLOURS: Final[Mapping[str, str]] = {
    "received": "#d7301f",
    "accepted": "#f16913",
    "in_progress": "#2171b5",
    "resolved": "#31a354",
    "rejected": "#737373",
    "duplicate": "#bdbdbd",
}
_OTHER_STATUS_COLOUR: Final = "#969696"

DISPLAY_TIME_ZONE: Final = "Asia/Tokyo"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE: Final = timedelta(minutes=1)

_FORMAT_VERSION: Final = 1
_STRIDE: Final = 10
_SCALE: Final = 100_000  # 1e-5 degree: about 1.1 m north-south, 0.9 m east-west in Tokyo
_DIGITS: Final = 5
_MAX_ZOOM: Final = 19
_FIT_MAX_ZOOM: Final = 16  # a single cluster is shown at street level, not at zoom 19
_SHELTER_COLOUR: Final = "#00873c"  # the green of the JIS evacuation pictograms

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
class MapCluster:
    """A report cluster as the crew map shows it.

    `category` is the text shown (the caller passes the category's label); `status` is the
    workflow status code (colour and label are looked up by it). Times must be timezone-aware.
    URLs are paths on this site ("/crew/...") or http(s) URLs.
    """

    id: int
    lon: float
    lat: float
    category: str
    status: str
    report_count: int
    first_at: datetime
    last_at: datetime
    thumbnail_url: str | None
    detail_url: str


@dataclass(frozen=True)
class MapLayers:
    """Optional overlays, each switchable in the map's layer control.

    shelters: (lon, lat, name) per shelter.
    hazards_geojson: a FeatureCollection (or Feature, or geometry) of hazard polygons;
        `properties.kind` (or `hazard`, as in hazard_maps/) is a HazardKind value and picks
        the style, `properties.label_ja` is added to the tooltip when present. Pass
        simplified geometry: it is embedded in the page (coordinates are rounded to 1e-5).
    boundary_geojson: the service area, drawn as an outline.
    attribution: credit for the data of these layers (plain text; the GSI and PLATEAU terms
        ask for one), shown in the map's attribution line.
    facilities: (lon, lat, name, FacilityCategory value) per public facility, medical
        institution or AED; a badge per category.
    """

    shelters: Sequence[tuple[float, float, str]] = ()
    hazards_geojson: dict[str, Any] | None = None
    boundary_geojson: dict[str, Any] | None = None
    attribution: str = ""
    facilities: Sequence[tuple[float, float, str, str]] = ()


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
    clusters: Sequence[MapCluster],
    *,
    asset_base: str,
    tile_url: str | None = None,
    tile_attribution: str = "",
    layers: MapLayers | None = None,
    status_colours: Mapping[str, str] | None = None,
    centre: tuple[float, float] | None = None,
) -> str:
    """The crew map as a complete HTML page.

    asset_base: the URL `service/crew/static/` is served at (e.g. "/crew/static"); the page
        loads `vendor/...` and `crewmap.js` from there and from nowhere else.
    tile_url: a Leaflet tile URL template ("/tiles/{z}/{x}/{y}.png") for a base map, with
        `tile_attribution` (plain text, required with it); None draws no base map.
    status_colours: CSS colours by status code, over DEFAULT_STATUS_COLOURS.
    centre: (lon, lat) to open at; by default the map fits the clusters (or the service
        area when there are none).
    """
    layers = layers or MapLayers()
    base = asset_base.rstrip("/")
    assets = offline_assets(f"{base}/vendor")
    crewmap_js = ("crewmap", f"{base}/crewmap.js")
    colours = {**DEFAULT_STATUS_COLOURS, **(status_colours or {})}

    data, bounds, heat_max = _encode_clusters(clusters, colours)
    boundary = _zones(layers.boundary_geojson, hazards=False)
    if bounds is None and boundary is not None:
        bounds = _geojson_bounds(boundary["geojson"])

    location = None if centre is None else [centre[1], centre[0]]
    page = folium.Map(
        location=location,
        tiles=None,
        zoom_start=_FIT_MAX_ZOOM,
        control_scale=True,
        prefer_canvas=True,  # hazard polygons draw much faster on a canvas than as SVG
    )
    assets.apply(page)
    # Leaflet.markercluster needs a finite maxZoom on the map; folium's max_zoom argument
    # only goes to the base tile layer, which may not exist.
    page.options["max_zoom"] = _MAX_ZOOM
    _figure(page).title = both("Crew map").plain()
    if centre is None and bounds is not None:
        page.fit_bounds(bounds, max_zoom=_FIT_MAX_ZOOM)
    if tile_url is not None:
        _tile_layer(tile_url, tile_attribution).add_to(page)

    reports = assets.apply(_ReportLayer())
    reports.default_js.append(crewmap_js)
    _add_with_data(page, reports, data)
    assets.apply(_ReportHeat(reports, heat_max)).add_to(page)
    if layers.shelters:
        shelters = _DataLayer(LAYER_SHELTERS, "shelters", "shelters", crewmap_js, show=False)
        _add_with_data(page, shelters, _shelters(layers.shelters))
    if layers.facilities:
        layer = _DataLayer(LAYER_FACILITIES, "facilities", "facilities", crewmap_js, show=False)
        _add_with_data(page, layer, _facilities(layers.facilities))
    hazards = _zones(layers.hazards_geojson, hazards=True)
    if hazards is not None:
        # Off at first: the polygons are large and cover the markers' surroundings.
        layer = _DataLayer(LAYER_HAZARDS, "hazards", "zones", crewmap_js, show=False)
        _add_with_data(page, layer, hazards)
    if boundary is not None:
        layer = _DataLayer(LAYER_BOUNDARY, "boundary", "zones", crewmap_js, show=True)
        _add_with_data(page, layer, boundary)
    if layers.attribution:
        _Attribution(layers.attribution).add_to(page)
    folium.LayerControl().add_to(page)
    return _figure(page).render()


def _tile_layer(tile_url: str, attribution: str) -> Any:
    # Without "{z}" folium would look the string up as a provider name (an external host).
    if "{z}" not in tile_url:
        raise ValueError(f"tile_url must be a tile URL template with {{z}}: {tile_url!r}")
    if not attribution:
        raise ValueError("a tile_url needs its tile_attribution (tile terms ask for one)")
    return folium.TileLayer(
        tiles=tile_url,
        attr=_attribution_html(attribution),
        name=pboth("map layer", "Base map").plain(),
        control=False,
        max_zoom=_MAX_ZOOM,
        max_native_zoom=18,  # most tile sets, GSI's and OpenStreetMap's too, stop at 18
    )


def _attribution_html(text: str) -> str:
    # Leaflet shows attributions as HTML; folium's macro output is parsed again as a Jinja
    # template, so braces become entities too.
    return html.escape(text).replace("{", "&#123;").replace("}", "&#125;")


def _encode_clusters(
    clusters: Sequence[MapCluster], colours: Mapping[str, str]
) -> tuple[dict[str, Any], list[list[float]] | None, float]:
    """The JSON block of the clusters (see the module docstring), their bounds as
    [[south, west], [north, east]] (None without clusters), and the heat map's `max`."""
    ordered = sorted(clusters, key=attrgetter("id"))
    for cluster in ordered:
        if not (-180 <= cluster.lon <= 180 and -90 <= cluster.lat <= 90):
            raise ValueError(f"cluster {cluster.id}: lon/lat out of range")
    xs = [round(cluster.lon * _SCALE) for cluster in ordered]
    ys = [round(cluster.lat * _SCALE) for cluster in ordered]
    x0, y0 = (min(xs), min(ys)) if ordered else (0, 0)
    firsts = [_minutes(cluster.first_at) for cluster in ordered]
    t0 = min(firsts) if ordered else 0

    categories = sorted({cluster.category for cluster in ordered})
    category_code = {category: code for code, category in enumerate(categories)}
    extra = sorted({cluster.status for cluster in ordered} - set(STATUSES))
    statuses = [*STATUSES, *extra]
    status_code = {status: code for code, status in enumerate(statuses)}

    detail = _url_template(ordered, attrgetter("detail_url"))
    thumbnail = _url_template(ordered, attrgetter("thumbnail_url"))
    rows: list[int | str] = []
    previous_id, previous_first = 0, t0
    for cluster, x, y, first in zip(ordered, xs, ys, firsts, strict=True):
        rows += (
            cluster.id - previous_id,
            x - x0,
            y - y0,
            category_code[cluster.category],
            status_code[cluster.status],
            cluster.report_count,
            first - previous_first,
            _minutes(cluster.last_at) - first,
            _url_slot(detail, cluster.id, cluster.detail_url),
            _url_slot(thumbnail, cluster.id, cluster.thumbnail_url),
        )
        previous_id, previous_first = cluster.id, first

    data = {
        "v": _FORMAT_VERSION,
        "stride": _STRIDE,
        "origin": [x0, y0],
        "t0": t0,
        "tz": DISPLAY_TIME_ZONE,
        "categories": categories,
        "statuses": statuses,
        "status_labels": [report_status_label(status, FIRST) for status in statuses],
        "colours": [colours.get(status, _OTHER_STATUS_COLOUR) for status in statuses],
        "detail": detail,
        "thumbnail": thumbnail,
        "rows": rows,
        "words": {
            "status": both("Status").plain(),
            "reports": pboth("count", "Reports").plain(),
            "first": both("First").plain(),
            "latest": both("Latest").plain(),
            "details": both("Details").plain(),
        },
    }
    if not ordered:
        return data, None, 1.0
    bounds = [[y0 / _SCALE, x0 / _SCALE], [max(ys) / _SCALE, max(xs) / _SCALE]]
    # Leaflet.heat colours a spot red at `max` (summed over a few pixels, halved per zoom
    # level out from its maxZoom): the 95th percentile keeps one huge cluster from washing
    # out every other spot.
    counts = sorted(cluster.report_count for cluster in ordered)
    return data, bounds, float(max(1, counts[(len(counts) - 1) * 95 // 100]))


def _minutes(moment: datetime) -> int:
    """Whole minutes since 1970-01-01 UTC (floored, as times are shown to the minute)."""
    try:
        return (moment - _EPOCH) // _MINUTE
    except TypeError:  # a naive datetime: its time zone is anyone's guess
        raise ValueError(f"crew map times must be timezone-aware: {moment!r}") from None


def _url_template(
    ordered: Sequence[MapCluster], url_of: Callable[[MapCluster], str | None]
) -> list[str] | None:
    """[prefix, suffix] such that most URLs are prefix + id + suffix, or None.

    Taken from the cluster with the largest id that has a URL: the more digits, the less
    likely they also occur elsewhere in the URL. A URL that does not fit travels whole.
    """
    for cluster in reversed(ordered):
        url = url_of(cluster)
        if url is not None:
            digits = str(cluster.id)
            at = _checked_url(url).rfind(digits)
            return None if at < 0 else [url[:at], url[at + len(digits) :]]
    return None


def _url_slot(template: list[str] | None, cluster_id: int, url: str | None) -> int | str:
    if url is None:
        return 0
    if template is not None and url == f"{template[0]}{cluster_id}{template[1]}":
        return 1
    return _checked_url(url)


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


def _shelters(shelters: Sequence[tuple[float, float, str]]) -> dict[str, Any]:
    points = []
    for lon, lat, name in shelters:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"shelter {name!r}: lon/lat out of range (give lon, lat, name)")
        points.append([round(lat, _DIGITS), round(lon, _DIGITS), name])
    return {"colour": _SHELTER_COLOUR, "points": points}


def _facilities(facilities: Sequence[tuple[float, float, str, str]]) -> dict[str, Any]:
    """Points as [lat, lon, name, category index], and per category its label, badge text and
    colour (crewmap.js draws a badge per category)."""
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


def _zones(geojson: Mapping[str, Any] | None, *, hazards: bool) -> dict[str, Any] | None:
    """The data block of a polygon layer: slimmed features (rounded coordinates, only a
    style index and a tooltip text kept), their styles, and whether they take the mouse."""
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
    block = f'<script type="application/json" id="{name}">{_json_for_html(data)}</script>'
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


class _Attribution(MacroElement):
    """Credit for the overlay data in the map's attribution line."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.attributionControl.addAttribution(
                {{ this.html|tojson }}
            );
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "crew_attribution"
        self.html = _attribution_html(text)
