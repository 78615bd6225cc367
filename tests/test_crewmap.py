"""The crew map page (service/crew/map_page.py): offline assets, size at 100k reports, the
embedded data, escaping, layers, status colours. No database needed."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from folium import plugins

from bench.crewmap import synthetic_clusters
from gis.clusters import STATUSES
from service.crew.map_page import (
    DEFAULT_STATUS_COLOURS,
    LAYER_BOUNDARY,
    LAYER_HAZARDS,
    LAYER_HEAT,
    LAYER_REPORTS,
    LAYER_SHELTERS,
    MapCluster,
    MapLayers,
    build_crew_map,
    offline_assets,
)
from tests.utils.crewmap import JST, data_block, decode, overlay_names

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "service" / "crew" / "static"
ASSET_BASE = "/crew/static"
EVIL = "</script><script>alert(1)</script>"

# src/href of every <script> and <link> tag.
_ASSET_LINK = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)


def cluster(cluster_id: int, **changes: Any) -> MapCluster:
    values: dict[str, Any] = {
        "id": cluster_id,
        "lon": 139.7312 + cluster_id * 1e-4,
        "lat": 35.7528 + cluster_id * 1e-4,
        "category": "road",
        "status": "received",
        "report_count": 1,
        "first_at": datetime(2026, 3, 1, 9, 15, tzinfo=JST),
        "last_at": datetime(2026, 3, 1, 9, 15, tzinfo=JST),
        "thumbnail_url": f"/crew/clusters/{cluster_id}/thumbnail",
        "detail_url": f"/crew/clusters/{cluster_id}",
    }
    values.update(changes)
    return MapCluster(**values)


def square(lon: float, lat: float, side: float = 0.002) -> list[list[list[float]]]:
    return [
        [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    ]


def all_layers(name: str = "赤羽小学校", label: str = "0.5m未満") -> MapLayers:
    """Synthetic layers (not real shelters or zones)."""
    hazards = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kind": "flood", "label_ja": label},
                "geometry": {"type": "Polygon", "coordinates": square(139.72, 35.75)},
            },
            {
                "type": "Feature",
                "properties": {"hazard": "landslide"},
                "geometry": {"type": "Polygon", "coordinates": square(139.74, 35.76)},
            },
        ],
    }
    boundary = {"type": "Polygon", "coordinates": square(139.69, 35.73, 0.08)}
    return MapLayers(
        shelters=[(139.7201, 35.7777, name)],
        hazards_geojson=hazards,
        boundary_geojson=boundary,
        attribution="出典：ハザードマップポータルサイト",
    )


def page(clusters: list[MapCluster], **kwargs: Any) -> str:
    return build_crew_map(clusters, asset_base=ASSET_BASE, **kwargs)


def test_page_loads_nothing_from_another_host() -> None:
    html = page([cluster(1), cluster(2)], layers=all_layers())
    links = _ASSET_LINK.findall(html)
    assert links, "the page loads its assets"
    assert all(link.startswith(f"{ASSET_BASE}/") for link in links), links
    # Without a tile URL there is no URL of another host anywhere in the page.
    assert re.search(r"https?://", html) is None


def test_folium_defaults_left_out_are_not_loaded() -> None:
    links = _ASSET_LINK.findall(page([cluster(1)]))
    assert not any(name in link for link in links for name in ("jquery", "bootstrap", "awesome"))
    assert f"{ASSET_BASE}/crewmap.js" in links


def test_tile_url_is_the_only_other_url() -> None:
    tiles = "https://tiles.example.lg.jp/std/{z}/{x}/{y}.png"
    html = page([cluster(1)], tile_url=tiles, tile_attribution="地理院タイル")
    assert json.dumps(tiles) in html
    assert all(link.startswith(f"{ASSET_BASE}/") for link in _ASSET_LINK.findall(html))
    assert set(re.findall(r"https?://[^\"\s]*", html)) == {tiles}


def test_tile_url_needs_a_template_and_an_attribution() -> None:
    with pytest.raises(ValueError, match="tile_attribution"):
        page([cluster(1)], tile_url="/tiles/{z}/{x}/{y}.png")
    with pytest.raises(ValueError, match="template"):
        page([cluster(1)], tile_url="OpenStreetMap", tile_attribution="OSM")


def test_every_referenced_asset_is_served() -> None:
    if not (STATIC / "vendor").is_dir():
        pytest.skip(
            "service/crew/static/vendor is missing: run "
            "`cd frontend && npm ci --no-audit --no-fund && node copy-assets.mjs`"
        )
    html = page([cluster(1)], layers=all_layers())
    for link in _ASSET_LINK.findall(html):
        path = STATIC / link.removeprefix(f"{ASSET_BASE}/")
        assert path.is_file(), f"{link} is not in service/crew/static"
        if path.suffix == ".css":
            # Images and fonts a stylesheet loads, relative to it.
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", path.read_text()):
                if not ref.startswith(("data:", "#")):
                    target = path.parent / ref.split("?")[0].split("#")[0]
                    assert target.is_file(), f"{link} references missing {ref}"


def test_100k_reports_stay_under_3_mb() -> None:
    clusters = synthetic_clusters(100_000)
    assert len(clusters) == 60_000
    html = page(clusters)
    assert len(html.encode()) < 3_000_000
    assert len(decode(data_block(html))) == 60_000


def test_cluster_data_round_trips() -> None:
    first = datetime(2026, 2, 3, 4, 5, tzinfo=JST)
    target = cluster(
        40_321,
        lon=139.718_234,
        lat=35.781_987,
        status="in_progress",
        category="街路灯",
        report_count=7,
        first_at=first,
        last_at=first + timedelta(days=3, minutes=17),
        thumbnail_url="/crew/photos/ab/cd/abcd.thumb.jpg",  # not the id template
    )
    others = [cluster(7), cluster(12, thumbnail_url=None), cluster(99_999, status="resolved")]
    decoded = decode(data_block(page([*others, target])))
    assert sorted(decoded) == [7, 12, 40_321, 99_999]
    got = decoded[40_321]
    assert got["lon"] == pytest.approx(139.718_23, abs=1e-9)
    assert got["lat"] == pytest.approx(35.781_99, abs=1e-9)
    assert got["report_count"] == 7
    assert got["status"] == "in_progress"
    assert got["status_code"] == STATUSES.index("in_progress")  # codes follow the workflow
    assert got["category"] == "街路灯"
    assert (got["first_at"], got["last_at"]) == (first, first + timedelta(days=3, minutes=17))
    assert got["detail_url"] == "/crew/clusters/40321"
    assert got["thumbnail_url"] == "/crew/photos/ab/cd/abcd.thumb.jpg"
    assert decoded[12]["thumbnail_url"] is None
    assert decoded[7]["thumbnail_url"] == "/crew/clusters/7/thumbnail"


def test_page_fits_the_clusters() -> None:
    html = page([cluster(1, lon=139.70, lat=35.74), cluster(2, lon=139.76, lat=35.79)])
    assert re.search(r"fitBounds\(\s*\[\[35\.74, 139\.7\], \[35\.79, 139\.76\]\]", html)
    # With no clusters, the service area.
    html = page([], layers=MapLayers(boundary_geojson=all_layers().boundary_geojson))
    assert re.search(r"fitBounds\(\s*\[\[35\.73, 139\.69\], \[35\.81, 139\.77\]\]", html)


def test_texts_cannot_inject_markup_or_template_code() -> None:
    template_code = "{{ 7*7 }}{% if true %}"
    clusters = [cluster(1, category=EVIL), cluster(2, category=template_code)]
    html = page(clusters, layers=all_layers(name=EVIL, label=EVIL))
    assert "<script>alert" not in html
    assert "</script><script>" not in html
    categories = data_block(html)["categories"]
    assert EVIL in categories
    assert template_code in categories  # kept as text, not run as a Jinja template
    shelters = data_block(html, "crew_shelters")
    assert shelters["points"][0][2] == EVIL
    hazards = data_block(html, "crew_hazards")["geojson"]["features"]
    assert hazards[0]["properties"]["t"] == f"洪水浸水想定区域 {EVIL}"


def test_attribution_is_text() -> None:
    html = page([cluster(1)], layers=MapLayers(attribution="<img src=x onerror=alert(1)>{{ 1 }}"))
    assert "<img" not in html
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;\\u0026#123;" in html


def test_links_must_be_paths_or_http() -> None:
    with pytest.raises(ValueError, match="path"):
        page([cluster(1, detail_url="javascript:alert(1)")])
    with pytest.raises(ValueError, match="path"):
        page([cluster(1), cluster(2, thumbnail_url="//evil.example/x.jpg")])


def test_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        page([cluster(1, first_at=datetime(2026, 3, 1, 9, 0))])


def test_layers_in_the_layer_control() -> None:
    assert overlay_names(page([cluster(1)])) == [LAYER_REPORTS, LAYER_HEAT]
    names = overlay_names(page([cluster(1)], layers=all_layers()))
    assert names == [LAYER_REPORTS, LAYER_HEAT, LAYER_SHELTERS, LAYER_HAZARDS, LAYER_BOUNDARY]


def test_hazard_zones_styled_by_kind() -> None:
    zones = data_block(page([], layers=all_layers()), "crew_hazards")
    features = zones["geojson"]["features"]
    flood, landslide = (zones["styles"][feature["properties"]["s"]] for feature in features)
    assert flood["color"] != landslide["color"]
    assert features[1]["properties"]["t"] == "土砂災害警戒区域"


def test_status_colours_applied() -> None:
    clusters = [cluster(1), cluster(2, status="resolved"), cluster(3, status="on_hold")]
    html = page(clusters, status_colours={"received": "#123456", "on_hold": "#abcdef"})
    decoded = decode(data_block(html))
    assert decoded[1]["colour"] == "#123456"
    assert decoded[2]["colour"] == DEFAULT_STATUS_COLOURS["resolved"]
    assert decoded[3]["colour"] == "#abcdef"


def test_offline_assets_refuse_an_asset_without_a_local_copy() -> None:
    with pytest.raises(ValueError, match="no local copy"):
        # folium's plugin classes have unannotated constructors (a third-party gap).
        offline_assets("/crew/static/vendor").apply(plugins.Draw())  # type: ignore[no-untyped-call]
