"""The crew map page (service/crew/map_page.py, service/crew/basemaps.py): offline assets,
base maps and their CSP, the data PostGIS encodes (round trip, 100k reports under 3 MB),
escaping, layers fetched when switched on, status colours."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from folium import plugins
from pydantic import ValidationError
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.clusters import insert_reports
from gis.clusters import STATUSES
from service import reports
from service.crew import queries
from service.crew.basemaps import basemaps, tile_origins
from service.crew.map import map_csp
from service.crew.map_page import (
    DEFAULT_STATUS_COLOURS,
    LAYER_BOUNDARY,
    LAYER_HAZARDS,
    LAYER_HEAT,
    LAYER_REPORTS,
    LAYER_SHELTERS,
    NO_CLUSTERS,
    CategoryLook,
    EncodedClusters,
    MapLayers,
    MapLinks,
    build_crew_map,
    offline_assets,
    shelters_data,
    zones,
)
from service.crew.queries import ClusterFilter
from service.settings import MapSettings, SettingsError
from tests.utils.app import RunningApp
from tests.utils.crew import Browser, logged_in
from tests.utils.crewmap import JST, data_block, decode, overlay_names
from tests.utils.database import in_transaction

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "service" / "crew" / "static"
ASSET_BASE = "/assets"
EVIL = "</script><script>alert(1)</script>"
LINKS = MapLinks(detail=("/crew/clusters/", ""), thumbnail=("/crew/clusters/", "/thumbnail"))
LOOKS = {"road": CategoryLook("道路の穴・段差", "穴")}
TILES = "https://tiles.example.lg.jp/std/{z}/{x}/{y}.png"

# src/href of every <script> and <link> tag.
_ASSET_LINK = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)


def one_cluster(**changes: Any) -> EncodedClusters:
    """One cluster as the database encodes it (a literal: the encoding is tested against
    PostGIS below)."""
    values: dict[str, Any] = {
        "count": 1,
        "origin": (13973623, 3575836),
        "extent": (13973623, 3575836),
        "t0": 29_000_000,
        "categories": ("road",),
        "statuses": STATUSES,
        "heat_max": 1.0,
        "rows": "7,0,0,0,0,1,0,0,1",
    }
    return EncodedClusters(**{**values, **changes})


def square(lon: float, lat: float, side: float = 0.002) -> list[list[list[float]]]:
    return [
        [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    ]


BOUNDARY = {"type": "Polygon", "coordinates": square(139.69, 35.73, 0.08)}
SYNTHETIC_HAZARDS = {  # synthetic zones, not real ones
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"kind": "flood", "label_ja": "0.5m未満"},
            "geometry": {"type": "Polygon", "coordinates": square(139.72, 35.75)},
        },
        {
            "type": "Feature",
            "properties": {"hazard": "landslide"},
            "geometry": {"type": "Polygon", "coordinates": square(139.74, 35.76)},
        },
    ],
}


def page(clusters: EncodedClusters | None = None, **kwargs: Any) -> str:
    kwargs.setdefault("categories", LOOKS)
    kwargs.setdefault("links", LINKS)
    return build_crew_map(clusters or one_cluster(), asset_base=ASSET_BASE, **kwargs)


def test_page_loads_nothing_from_another_host_without_a_base_map() -> None:
    html = page(layers=MapLayers(boundary_geojson=BOUNDARY, credits={"boundary": "出典"}))
    links = _ASSET_LINK.findall(html)
    assert links, "the page loads its assets"
    assert all(link.startswith(f"{ASSET_BASE}/") for link in links), links
    assert re.search(r"https?://", html) is None
    assert not any(name in link for link in links for name in ("jquery", "bootstrap", "awesome"))
    assert f"{ASSET_BASE}/crewmap.js" in links


def test_gsi_tiles_by_default_switchable_and_credited_as_gsi_asks() -> None:
    maps = basemaps(MapSettings())
    assert [m.name for m in maps] == [
        "淡色地図 Pale map",
        "標準地図 Standard map",
        "写真 Aerial photos",
    ]
    assert maps[0].url == "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"
    assert maps[2].url.endswith("/seamlessphoto/{z}/{x}/{y}.jpg")
    assert {(m.credit, m.credit_url) for m in maps} == {
        ("地理院タイル", "https://maps.gsi.go.jp/development/ichiran.html")
    }
    html = page(basemaps=maps)
    # The three in the layer control's base maps, the pale one shown.
    assert html.count("CrewMap.basemap(") == 3
    assert len(re.findall(r"crew_basemap_[0-9a-f]+\.addTo\(", html)) == 1
    assert 'href=\\"https://maps.gsi.go.jp/development/ichiran.html\\"' in html
    # The CSP lets images come from GSI's tile host and nowhere else.
    assert tile_origins(maps) == ["https://cyberjapandata.gsi.go.jp"]
    assert "img-src 'self' data: https://cyberjapandata.gsi.go.jp;" in map_csp(maps)


def test_a_city_base_map_needs_a_template_and_its_credit() -> None:
    own = MapSettings(BASEMAP_URL=TILES, BASEMAP_ATTRIBUTION="北区 地図")
    (only,) = basemaps(own)
    assert (only.url, only.credit, only.credit_url) == (TILES, "北区 地図", None)
    html = page(basemaps=[only])
    assert set(re.findall(r"https?://[^\"\s]*", html)) == {TILES}
    assert map_csp([only]).count("https://tiles.example.lg.jp") == 1
    with pytest.raises(SettingsError, match="BASEMAP_ATTRIBUTION"):
        MapSettings(BASEMAP_URL=TILES).check()
    with pytest.raises(ValidationError, match="XYZ tile template"):
        MapSettings(BASEMAP_URL="OpenStreetMap")
    with pytest.raises(ValidationError, match="XYZ tile template"):
        MapSettings(BASEMAP_URL="javascript:alert(1)//{z}/{x}/{y}")
    assert basemaps(MapSettings(BASEMAP_URL="none")) == []
    assert "img-src 'self' data:;" in map_csp([])


def test_every_referenced_asset_is_served() -> None:
    if not (STATIC / "vendor").is_dir():
        pytest.skip(
            "service/crew/static/vendor is missing: run "
            "`cd frontend && npm ci --no-audit --no-fund && node copy-assets.mjs`"
        )
    html = page(layers=MapLayers(boundary_geojson=BOUNDARY))
    for link in [*_ASSET_LINK.findall(html), f"{ASSET_BASE}/vendor/design-tokens/tokens.css"]:
        path = STATIC / link.removeprefix(f"{ASSET_BASE}/")
        assert path.is_file(), f"{link} is not in service/crew/static"
        if path.suffix == ".css":
            # Images and fonts a stylesheet loads, relative to it.
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", path.read_text()):
                if not ref.startswith(("data:", "#")):
                    target = path.parent / ref.split("?")[0].split("#")[0]
                    assert target.is_file(), f"{link} references missing {ref}"


def _encoded(url: str, where: ClusterFilter | None = None) -> EncodedClusters:
    async def work(conn: AsyncConnection) -> EncodedClusters:
        return await queries.encoded_clusters(conn, where or ClusterFilter(statuses=STATUSES))

    return in_transaction(url, work)


def test_cluster_data_round_trips_through_postgis(empty_url: str) -> None:
    first = datetime(2026, 2, 3, 4, 5, tzinfo=JST)

    async def seed(conn: AsyncConnection) -> list[int]:
        ids = []
        for n, (lon, lat, category) in enumerate(
            [(139.718_234, 35.781_987, "streetlight"), (139.7312, 35.7528, "road")]
        ):
            filed = await reports.submit_report(
                conn, reports.NewReport(category, lon, lat, photo_keys=["k"] * (n == 0)), 30
            )
            ids.append(filed.cluster_id)
        # The first case gathers three reports over three days.
        await conn.execute(
            text(
                "UPDATE report_clusters SET report_count = 3, first_report_at = :first, "
                "last_report_at = :last, status = 'in_progress' WHERE id = :id"
            ),
            {"first": first, "last": first + timedelta(days=3, minutes=17), "id": ids[0]},
        )
        return ids

    light, road = in_transaction(empty_url, seed)
    decoded = decode(data_block(page(_encoded(empty_url), categories={})))
    assert sorted(decoded) == [light, road]
    got = decoded[light]
    assert got["lon"] == pytest.approx(139.718_23, abs=1e-9)
    assert got["lat"] == pytest.approx(35.781_99, abs=1e-9)
    assert got["report_count"] == 3
    assert (got["status"], got["status_code"]) == ("in_progress", STATUSES.index("in_progress"))
    assert got["category"] == "streetlight"  # a code without a look shows as itself
    assert (got["first_at"], got["last_at"]) == (first, first + timedelta(days=3, minutes=17))
    assert got["detail_url"] == f"/crew/clusters/{light}"
    assert got["thumbnail_url"] == f"/crew/clusters/{light}/thumbnail"
    assert decoded[road]["thumbnail_url"] is None
    assert decoded[road]["status"] == "received"
    only_road = _encoded(empty_url, ClusterFilter(statuses=STATUSES, categories=["road"]))
    assert list(decode(data_block(page(only_road)))) == [road]
    nothing = _encoded(empty_url, ClusterFilter(statuses=["resolved"]))
    assert (nothing.count, nothing.rows, nothing.bounds()) == (0, "", None)


def test_100k_reports_in_100k_cases_stay_under_3_mb(empty_url: str) -> None:
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        insert_reports(conn, 100_000)
    engine.dispose()
    encoded = _encoded(empty_url)
    html = page(encoded, layers=MapLayers(boundary_geojson=BOUNDARY))
    assert encoded.count == 100_000
    assert len(html.encode()) < 3_000_000
    assert len(decode(data_block(html))) == 100_000


def test_page_fits_the_clusters() -> None:
    two = one_cluster(count=2, origin=(13970000, 3574000), extent=(13976000, 3579000))
    html = page(two)
    assert re.search(r"fitBounds\(\s*\[\[35\.74, 139\.7\], \[35\.79, 139\.76\]\]", html)
    # With no clusters, the service area.
    html = page(NO_CLUSTERS, layers=MapLayers(boundary_geojson=BOUNDARY))
    assert re.search(r"fitBounds\(\s*\[\[35\.73, 139\.69\], \[35\.81, 139\.77\]\]", html)


def test_texts_cannot_inject_markup_or_template_code() -> None:
    template_code = "{{ 7*7 }}{% if true %}"
    looks = {"road": CategoryLook(EVIL, "<"), "graffiti": CategoryLook(template_code, "{")}
    clusters = one_cluster(categories=("graffiti", "road"), rows="7,0,0,0,0,1,0,0,1")
    html = page(
        clusters,
        categories=looks,
        layers=MapLayers(boundary_geojson=BOUNDARY, credits={"boundary": EVIL}),
    )
    assert "<script>alert" not in html
    assert "</script><script>" not in html
    assert data_block(html)["categories"] == [template_code, EVIL]  # text, not run
    # The fetched layers carry names as data; crewmap.js puts them in with textContent.
    assert shelters_data([(139.7201, 35.7777, EVIL)])["points"][0][2] == EVIL
    with pytest.raises(ValueError, match="integers"):
        page(one_cluster(rows="1,2</script>"))


def test_credits_are_text() -> None:
    credit = "<img src=x onerror=alert(1)>{{ 1 }}"
    html = page(layers=MapLayers(boundary_geojson=BOUNDARY, credits={"boundary": credit}))
    assert "<img" not in html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;\\u0026#123;" in html


def test_links_must_be_paths_or_http() -> None:
    with pytest.raises(ValueError, match="path"):
        page(links=MapLinks(detail=("javascript:alert(", ")"), thumbnail=LINKS.thumbnail))
    with pytest.raises(ValueError, match="path"):
        page(links=MapLinks(detail=LINKS.detail, thumbnail=("//evil.example/", "")))


def test_layers_off_at_first_are_named_but_not_in_the_page() -> None:
    assert overlay_names(page()) == [LAYER_REPORTS, LAYER_HEAT]
    lazy = {"shelters": "/crew/map/layers/shelters", "hazards": "/crew/map/layers/hazards"}
    html = page(layers=MapLayers(boundary_geojson=BOUNDARY, lazy=lazy))
    names = overlay_names(html)
    assert names == [LAYER_REPORTS, LAYER_HEAT, LAYER_SHELTERS, LAYER_HAZARDS, LAYER_BOUNDARY]
    assert 'CrewMap.lazy(\n                "shelters", "/crew/map/layers/shelters"' in html
    assert "crew_shelters" not in re.findall(r'id="(crew_[a-z]+)_[0-9a-f]+_data"', html)


def test_hazard_zones_styled_by_kind() -> None:
    found = zones(SYNTHETIC_HAZARDS, hazards=True)
    assert found is not None
    features = found["geojson"]["features"]
    flood, landslide = (found["styles"][feature["properties"]["s"]] for feature in features)
    assert flood["color"] != landslide["color"]
    assert features[0]["properties"]["t"] == "洪水浸水想定区域 0.5m未満"
    assert features[1]["properties"]["t"] == "土砂災害警戒区域"


def test_status_colours_applied() -> None:
    clusters = one_cluster(
        count=3,
        statuses=(*STATUSES, "on_hold"),
        rows="1,0,0,0,0,1,0,0,0,1,0,0,0,3,1,0,0,0,1,0,0,0,6,1,0,0,0",
    )
    html = page(clusters, status_colours={"received": "#123456", "on_hold": "#abcdef"})
    decoded = decode(data_block(html))
    assert decoded[1]["colour"] == "#123456"
    assert decoded[2]["colour"] == DEFAULT_STATUS_COLOURS["resolved"]
    assert decoded[3]["colour"] == "#abcdef"
    assert data_block(html)["status_labels"][:2] == ["受付", "受理・対応予定"]  # never a code


def test_offline_assets_refuse_an_asset_without_a_local_copy() -> None:
    with pytest.raises(ValueError, match="no local copy"):
        # folium's plugin classes have unannotated constructors (a third-party gap).
        offline_assets("/crew/static/vendor").apply(plugins.Draw())  # type: ignore[no-untyped-call]


def test_layers_are_fetched_from_the_app_behind_the_login(
    running_app: RunningApp, browsers: Callable[[], Browser]
) -> None:
    browser = browsers()
    crew = logged_in(running_app, browser)
    frame = crew.get("/crew/map/frame")
    assert frame.status_code == 200
    # The bundled shelters and hazard zones are named in the page, their data is not in it.
    assert LAYER_SHELTERS in overlay_names(frame.text)
    assert "十条" not in frame.text
    shelters = crew.get("/crew/map/layers/shelters")
    assert shelters.status_code == 200
    assert any("十条" in point[2] for point in shelters.json()["points"])
    hazards = crew.get("/crew/map/layers/hazards").json()
    assert hazards["interactive"] and hazards["geojson"]["features"]
    assert crew.get("/crew/map/layers/nothing").status_code == 404
    assert browsers().get("/crew/map/layers/shelters", html=False).status_code == 401
