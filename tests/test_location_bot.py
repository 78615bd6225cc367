"""The location bot end to end: a signed webhook in, the reply the resident sees out.

Everything is real: the app on a loopback port, PostGIS with the shipped Kita-ku data, the
line-bot-sdk client talking HTTP to the LINE stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod
from shapely.geometry import box
from sqlalchemy import create_engine

from gis.hazards import HazardKind
from service import bundled, sandbox
from service.sandbox import Delivery, LinePlatformStandIn, WebhookSender
from service.settings import DataSettings
from tests.utils.app import TEST_SECRET, RunningApp

USER_JA = "U" + "1" * 32
USER_EN = "U" + "2" * 32

UKIMA = (35.7898, 139.6917)  # 浮間: inside the 5–10 m flood zone
JUJO = (35.7550, 139.7250)  # 十条 plateau: over 200 m from any flood zone
TABATA_JHS = (35.738271, 139.754165)  # 区立田端中学校: 45 m from landslide zone 117001-K094
SHINJUKU = (35.6896, 139.7006)  # outside Kita-ku


@pytest.fixture
def sender(running_app: RunningApp, standin: LinePlatformStandIn) -> WebhookSender:
    standin.add_user(USER_JA, language="ja")
    standin.add_user(USER_EN, language="en")
    return WebhookSender(running_app.webhook_url, TEST_SECRET)


def _ask(
    sender: WebhookSender, standin: LinePlatformStandIn, user: str, lat: float, lon: float
) -> Delivery:
    before = len(standin.delivered(user))
    response = sender.send([sandbox.location_event(standin, user, lat, lon)])
    assert response.status_code == 200
    return standin.wait_for_deliveries(before + 1, user)[before]


def _summary(delivery: Delivery) -> str:
    assert delivery.messages[0]["type"] == "text"
    return str(delivery.messages[0]["text"])


def _bubbles(delivery: Delivery) -> list[dict[str, Any]]:
    flex = delivery.messages[1]
    assert flex["type"] == "flex"
    assert flex["contents"]["type"] == "carousel"
    return list(flex["contents"]["contents"])


def _bubble_texts(bubble: dict[str, Any]) -> list[str]:
    return [c["text"] for c in bubble["body"]["contents"] if c["type"] == "text"]


def test_flood_zone_answer_puts_flood_sites_first(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    delivery = _ask(sender, standin, USER_JA, *UKIMA)
    assert delivery.via == "reply"
    summary = _summary(delivery)
    assert "洪水浸水想定区域" in summary
    assert "5〜10m" in summary
    assert "この地点" in summary
    assert "概略" in summary  # the flood layer is an approximation, and says so
    bubbles = _bubbles(delivery)
    assert len(bubbles) == 5
    # The nearest sites (浮間's schools) are only designated for earthquakes; in a flood zone
    # the sites designated for floods come first.
    first = _bubble_texts(bubbles[0])
    assert any("洪水" in line for line in first)
    assert not any(name.startswith("区立浮間") for name in _bubble_texts(bubbles[0])[:1])
    route = bubbles[0]["footer"]["contents"][0]["action"]["uri"]
    assert route.startswith("https://www.google.com/maps/dir/?")
    assert "travelmode=walking" in route


def test_dry_point_lists_nearest_sites_by_geodesic_distance(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    delivery = _ask(sender, standin, USER_JA, *JUJO)
    summary = _summary(delivery)
    assert "外です" in summary  # outside every loaded zone, said plainly
    shelters = json.loads(DataSettings().shelters.read_text(encoding="utf-8"))["features"]
    geod = Geod(ellps="WGS84")

    def metres(feature: dict[str, Any]) -> float:
        lon, lat = feature["geometry"]["coordinates"]
        return float(geod.inv(JUJO[1], JUJO[0], lon, lat)[2])

    nearest = sorted(shelters, key=metres)[:5]
    bubbles = _bubbles(delivery)
    names = [f["properties"]["施設・場所名"] for f in nearest]
    assert [_bubble_texts(b)[0] for b in bubbles] == names
    # distance and walking time at 80 m/min, rounded up
    first_distance = round(metres(nearest[0]))
    minutes = -(-metres(nearest[0]) // 80)
    assert _bubble_texts(bubbles[0])[1] == f"直線{first_distance}m・徒歩約{int(minutes)}分（目安）"


def test_landslide_zone_within_50m_is_reported_as_near(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    summary = _summary(_ask(sender, standin, USER_JA, *TABATA_JHS))
    assert "土砂災害警戒区域" in summary
    assert "約45m先" in summary or "約44m先" in summary or "約46m先" in summary


def test_english_user_gets_english(sender: WebhookSender, standin: LinePlatformStandIn) -> None:
    delivery = _ask(sender, standin, USER_EN, *UKIMA)
    summary = _summary(delivery)
    assert "Hazards at this spot" in summary
    assert "flood" in summary.lower()
    assert delivery.messages[1]["altText"].endswith("nearby evacuation sites")
    assert "洪水浸水" not in summary


def test_hazards_nobody_faces_here_get_no_no_site_line(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    # Kita-ku has no designated site for tsunami, large fires, inland floods or volcanoes;
    # at 十条, in no zone and with no disaster declared, that is no concern of the answer.
    summary = _summary(_ask(sender, standin, USER_JA, *JUJO))
    assert "に対応する指定緊急避難場所がありません" not in summary


def test_outside_service_area_is_told_honestly(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    delivery = _ask(sender, standin, USER_JA, *SHINJUKU)
    summary = _summary(delivery)
    assert "北区の外" in summary
    assert len(_bubbles(delivery)) == 5


def test_a_location_that_is_no_place_gets_a_clear_answer(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    for lat, lon in ((1000.0, 139.7), (35.7, -500.0)):
        (message,) = _ask(sender, standin, USER_JA, lat, lon).messages
        assert "この位置情報は読み取れません" in message["text"] and f"{lat:g}" in message["text"]
        assert "km" not in message["text"]
        assert message["quickReply"]["items"][0]["action"]["type"] == "location"


def test_shelter_words_ask_for_location(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    for word, user in (("避難所", USER_JA), ("Shelter", USER_EN), ("ハザード", USER_JA)):
        before = len(standin.delivered(user))
        sender.send([sandbox.text_event(standin, user, word)])
        message = standin.wait_for_deliveries(before + 1, user)[before].messages[0]
        items = message["quickReply"]["items"]
        assert items[0]["action"]["type"] == "location"


def test_follow_gets_a_greeting_that_explains(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    sender.send([sandbox.follow_event(standin, USER_EN)])
    message = standin.wait_for_deliveries(1, USER_EN)[0].messages[0]
    assert "Send a location" in message["text"]
    assert message["quickReply"]["items"][0]["action"]["type"] == "location"


def test_expired_reply_token_falls_back_to_push(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    event = sandbox.location_event(standin, USER_JA, *UKIMA)
    standin.expire_reply_tokens()
    sender.send([event])
    delivery = standin.wait_for_deliveries(1, USER_JA)[0]
    assert delivery.via == "push"
    assert "洪水浸水想定区域" in _summary(delivery)
    refused = [c for c in standin.calls("reply") if c.status == 400]
    assert len(refused) == 1


def test_platform_429_is_retried(sender: WebhookSender, standin: LinePlatformStandIn) -> None:
    standin.fail_next("reply", 429, times=1, retry_after=0)
    sender.send([sandbox.text_event(standin, USER_JA, "避難所")])
    delivery = standin.wait_for_deliveries(1, USER_JA)[0]
    assert delivery.via == "reply"
    assert [c.status for c in standin.calls("reply")] == [429, 200]


def test_faced_hazard_without_any_designated_site_is_said_first(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn, tmp_path: Path
) -> None:
    # SYNTHETIC tsunami zone around 十条 (no such zone exists): Kita-ku has no site
    # designated for tsunamis, and a resident inside one must be told so, not shown nothing.
    lat, lon = JUJO
    square = box(lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)
    zone = {
        "type": "FeatureCollection",
        "note": "synthetic test fixture, not real data",
        "features": [
            {
                "type": "Feature",
                "properties": {"A40_003": "1m以上2m未満"},
                "geometry": square.__geo_interface__,
            }
        ],
    }
    path = tmp_path / "tsunami_synthetic.geojson"
    path.write_text(json.dumps(zone), encoding="utf-8")
    engine = create_engine(running_app.database_url)
    bundled.load_hazard_file(engine, path, HazardKind.TSUNAMI)
    engine.dispose()

    summary = _summary(_ask(sender, standin, USER_JA, *JUJO))
    # Leave at once for high ground: no site to point to, and staying is no option.
    assert summary.splitlines()[:3] == [
        "■ ここでとる行動",
        "▶ 立退き避難: すぐに津波の区域の外の高台へ移動してください。自宅に留まってはいけません。",
        "▶ 緊急安全確保: 避難が間に合わないときは、すぐに、今いる建物か近くの高く丈夫な建物の、"
        "できるだけ高い所へ移動してください。",
    ]
    hazards_part, sites_part = summary.split("■ 近くの")
    assert "津波浸水想定区域" in hazards_part
    assert "「津波」に対応する指定緊急避難場所がありません" in hazards_part
    # the warning is not repeated at the end for the hazard already named
    assert "「津波" not in sites_part
