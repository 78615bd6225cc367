"""The crew map and a cluster's page, over real HTTP with a logged-in crew member: filters,
local assets only, photos behind the login, and a status change reaching the reporter."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.photos import LocalPhotoStore, process_photo
from service.sandbox import LinePlatformStandIn
from tests.utils.app import RunningApp
from tests.utils.crew import Browser, logged_in
from tests.utils.crewmap import data_block, decode
from tests.utils.database import in_transaction

RESIDENT = "U" + "e" * 32
OJI = (139.736233, 35.758357)
AKABANE = (139.7209, 35.7778)


def _seed(app: RunningApp) -> tuple[int, int, str]:
    """Two reports in two clusters (one with a photo); returns both cluster ids and the key."""
    photo = process_photo(_jpeg())
    LocalPhotoStore(app.settings.data.photo_dir).put(photo)

    async def work(conn: AsyncConnection) -> tuple[int, int]:
        with_photo = reports.NewReport(
            category="road",
            lon=OJI[0],
            lat=OJI[1],
            photo_keys=[photo.key],
            line_user_id=RESIDENT,
            address="東京都北区王子2-7-1",
        )
        first = await reports.submit_report(conn, with_photo, 30)
        light = reports.NewReport(category="streetlight", lon=AKABANE[0], lat=AKABANE[1])
        second = await reports.submit_report(conn, light, 30)
        return first.cluster_id, second.cluster_id

    first, second = in_transaction(app.database_url, work)
    return first, second, photo.key


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 30)).save(out, "JPEG")
    return out.getvalue()


def test_map_shows_filtered_clusters_with_local_assets_only(
    running_app: RunningApp, browser: Browser
) -> None:
    road, light, _ = _seed(running_app)
    crew = logged_in(running_app, browser)
    page = crew.get("/crew/map?category=road")
    assert page.status_code == 200
    frame_url = re.search(r'<iframe[^>]+src="([^"]+)"', page.text)
    assert frame_url and "category=road" in frame_url.group(1)
    frame = crew.get(frame_url.group(1).replace("&amp;", "&"))
    assert frame.status_code == 200
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', frame.text)
    clusters = decode(data_block(frame.text))
    assert list(clusters) == [road]
    assert clusters[road]["report_count"] == 1
    everything = decode(data_block(crew.get("/crew/map/frame").text))
    assert set(everything) == {road, light}
    # every asset the map references is served by the app itself
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', frame.text):
        assert crew.get(asset).status_code == 200, asset


def test_status_change_on_the_cluster_page_notifies_the_reporter(
    running_app: RunningApp, browser: Browser, standin: LinePlatformStandIn
) -> None:
    standin.add_user(RESIDENT)
    road, _, key = _seed(running_app)
    crew = logged_in(running_app, browser)
    page = crew.get(f"/crew/clusters/{road}")
    assert page.status_code == 200
    assert RESIDENT not in page.text
    assert f"/crew/clusters/{road}/photos/{key}" in page.text
    token = crew.csrf_token(f"/crew/clusters/{road}")
    changed = crew.post(
        f"/crew/clusters/{road}/status",
        data={"csrf_token": token, "status": "in_progress", "note": "本日補修します"},
    )
    assert changed.status_code == 303
    message = standin.wait_for_deliveries(1, RESIDENT)[0].messages[0]
    assert "対応中" in message["text"] and "本日補修します" in message["text"]
    history = crew.get(f"/crew/clusters/{road}").text
    assert "crew:tanaka" in history and "本日補修します" in history
    refused = crew.post(
        f"/crew/clusters/{road}/status", data={"csrf_token": "forged", "status": "resolved"}
    )
    assert refused.status_code == 403


def test_photos_are_served_to_crews_only(running_app: RunningApp, browser: Browser) -> None:
    road, light, key = _seed(running_app)
    anonymous = httpx.get(f"{running_app.url}/crew/clusters/{road}/photos/{key}", trust_env=False)
    assert anonymous.status_code in (303, 401)
    crew = logged_in(running_app, browser)
    full = crew.get(f"/crew/clusters/{road}/photos/{key}")
    assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
    assert full.headers["cache-control"] == "no-store"
    thumb = crew.get(f"/crew/clusters/{road}/thumbnail")
    assert thumb.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 240)
    # a photo of another cluster is not reachable through this one
    assert crew.get(f"/crew/clusters/{light}/photos/{key}").status_code == 404
    assert crew.get(f"/crew/clusters/{light}/thumbnail").status_code == 404


def test_cluster_page_shows_its_location_on_a_small_map(
    running_app: RunningApp, browser: Browser
) -> None:
    road, _, _ = _seed(running_app)
    crew = logged_in(running_app, browser)
    assert f'src="/crew/clusters/{road}/map"' in crew.get(f"/crew/clusters/{road}").text
    small = crew.get(f"/crew/clusters/{road}/map")
    assert small.status_code == 200
    clusters = decode(data_block(small.text))
    assert list(clusters) == [road]
    assert abs(clusters[road]["lon"] - OJI[0]) < 1e-4
    assert crew.get("/crew/clusters/999999/map").status_code == 404
