"""Open311 GeoReport v2 over real HTTP, driven by real GeoReport client libraries from PyPI:
`georeport` (reads services and requests, in JSON and in XML) and `civicbot`'s
`Open311Client` (files requests with an api_key, looks up tokens). Discovery, which neither
library reads, is fetched with httpx and parsed with the standard JSON and XML parsers.

Reports are filed at real Kita-ku coordinates; the LINE resident is a synthetic user ID.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client, PreparedRequest
from civicbot.registry import Endpoint
from georeport import GeoReport
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service import apikeys, reports
from service.sandbox import LinePlatformStandIn
from service.settings import Open311Settings, ReportSettings
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.database import in_transaction
from tests.utils.photos import jpeg
from tests.utils.resident import Resident, report_from_text

JURISDICTION = "city.kita.tokyo.jp"
OJI = (35.758357, 139.736233)  # 王子 (lat, lon): where the LINE chat files its report
OJI_12M_EAST = (35.758357, 139.736366)
AKABANE = (35.777800, 139.720900)  # 赤羽, about 2.8 km from OJI
TABATA = (35.738000, 139.761000)  # 田端
SHINJUKU = (35.6896, 139.7006)  # outside Kita-ku
RESIDENT = "U" + "d4" * 16
MEDIA = "https://photos.example.org/kita/step.jpg"


def _base(app: RunningApp) -> str:
    return app.url + "/open311/v2"


def _reader(app: RunningApp, fmt: str = "json", jurisdiction: str = JURISDICTION) -> GeoReport:
    return GeoReport(_base(app), jurisdiction=jurisdiction, output_format=fmt)


def _filer(app: RunningApp, fmt: str = "json", *, key_required: bool = True) -> Open311Client:
    endpoint = Endpoint(
        id="kita",
        name="Kita City",
        base_url=_base(app),
        write=True,
        api_key_required_for_write=key_required,
    )
    # No pause between calls: the library's politeness delay is for real cities' servers.
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0))
    return Open311Client(endpoint, transport, jurisdiction_id=JURISDICTION, fmt=fmt)


def _file(client: Open311Client, key: str | None, code: str = "road", **kw: Any) -> dict[str, Any]:
    sent: PreparedRequest = client.create_request(
        code, dry_run=False, confirm=CONFIRM_TOKEN, api_key=key, **kw
    )
    (answer,) = sent.response
    return dict(answer)


def _raw_post(app: RunningApp, form: dict[str, str], fmt: str = "json") -> HttpError:
    """POST a form the library would refuse to build (malformed values) with the library's
    own transport; returns the HTTP error it raises."""
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0))
    with pytest.raises(HttpError) as refused:
        transport.post_form(f"{_base(app)}/requests.{fmt}", form)
    return refused.value


def _spec_errors(body: str | bytes, fmt: str = "json") -> list[tuple[int, str]]:
    """The (code, description) pairs of an error answer, checked to be in the spec's form."""
    if fmt == "json":
        items = json.loads(body)
        assert isinstance(items, list) and items
        assert all(set(item) == {"code", "description"} for item in items)
        return [(int(item["code"]), str(item["description"])) for item in items]
    root = ET.fromstring(body)  # noqa: S314  (our own server's answer)
    assert root.tag == "errors" and len(root)
    assert all(error.tag == "error" for error in root)
    return [(int(e.findtext("code") or 0), e.findtext("description") or "") for e in root]


def _http_error(call: Any, *args: Any, **kw: Any) -> requests.Response:
    """Run a georeport call that must fail; returns the HTTP answer."""
    with pytest.raises(requests.HTTPError) as failed:
        call(*args, **kw)
    response = failed.value.response
    assert response is not None  # requests sets it on the errors raise_for_status raises
    return response


def _new_key(app: RunningApp, name: str) -> str:
    return in_transaction(app.database_url, lambda conn: apikeys.create_key(conn, name))


def _rows(app: RunningApp, sql: str, **params: Any) -> list[Any]:
    async def work(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(text(sql), params)).all())

    return in_transaction(app.database_url, work)


def _as_list(found: Any) -> list[dict[str, Any]]:
    """georeport's XML reading gives one request as a dict, several as a list."""
    return found if isinstance(found, list) else [found]


def _ids(found: Any) -> set[int]:
    return {int(item["service_request_id"]) for item in _as_list(found)}


def test_discovery_and_services_in_json_and_xml(running_app: RunningApp) -> None:
    base = _base(running_app)
    with httpx.Client(trust_env=False, timeout=10) as client:
        document = client.get(f"{base}/discovery.json").json()
        xml_document = ET.fromstring(client.get(f"{base}/discovery.xml").content)  # noqa: S314
        wrong_format = client.get(f"{base}/services.csv")
    (endpoint,) = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == base
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert document["changeset"] and "api_key" in document["key_service"]
    assert xml_document.tag == "discovery"
    assert xml_document.findtext("endpoints/endpoint/url") == base
    formats = [f.text for f in xml_document.iterfind("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]
    assert wrong_format.status_code == 404
    assert "use .json or .xml" in _spec_errors(wrong_format.content, "xml")[0][1]

    categories = running_app.settings.reports.categories
    services = _reader(running_app).get_service_list()
    assert [s["service_code"] for s in services] == [c.code for c in categories]
    road = services[0]
    assert (road["service_name"], road["description"]) == ("道路の穴・段差", "Road damage")
    assert road["metadata"] is False and road["type"] == "realtime"
    xml_services = _reader(running_app, "xml").get_service_list()
    assert [s["service_code"] for s in xml_services] == [c.code for c in categories]
    assert xml_services[1]["service_name"] == "街路灯" and xml_services[1]["metadata"] == "false"

    assert _reader(running_app).get_service_definition("road")["service_code"] == "road"
    definition = _reader(running_app, "xml").get_service_definition("streetlight")
    assert definition["service_code"] == "streetlight"
    for fmt in ("json", "xml"):
        missing = _http_error(_reader(running_app, fmt).get_service_definition, "pothole")
        assert missing.status_code == 404
        ((code, description),) = _spec_errors(missing.content, fmt)
        assert code == 404 and "'pothole'" in description and "road" in description
    elsewhere = _http_error(_reader(running_app, jurisdiction="city.osaka.lg.jp").get_service_list)
    assert elsewhere.status_code == 404
    assert "city.osaka.lg.jp" in _spec_errors(elsewhere.content)[0][1]


def test_a_filed_request_joins_the_line_residents_report_and_names_no_one(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    resident = Resident(running_app, standin, RESIDENT, "ja")
    done = report_from_text(resident, photo=jpeg())
    line_no = int(done.split("No.")[1].split()[0])
    key = _new_key(running_app, "partner-app")

    answer = _file(
        _filer(running_app),
        key,
        lat=OJI_12M_EAST[0],
        lng=OJI_12M_EAST[1],
        address_string="王子2丁目の歩道",
        description="段差でつまずきそうです",
        media_url=MEDIA,
        # Personal fields a client may send: never stored, never shown.
        email="taro@example.org",
        first_name="Taro",
        last_name="Kita",
        phone="090-1234-5678",
    )
    filed = int(answer["service_request_id"])
    assert "2件" in answer["service_notice"] and "2 reports" in answer["service_notice"]
    ours, theirs = _rows(
        running_app,
        "SELECT r.*, k.name AS key_name FROM reports r LEFT JOIN api_keys k ON k.id = r.api_key_id"
        " WHERE r.id IN (:a, :b) ORDER BY r.id",
        a=line_no,
        b=filed,
    )
    assert theirs.cluster_id == ours.cluster_id  # joined the resident's cluster, like LINE
    assert (theirs.source, theirs.key_name, theirs.media_url) == ("open311", "partner-app", MEDIA)
    assert theirs.line_user_id is None and theirs.token == answer["token"]
    assert not any("Taro" in str(value) or "090-" in str(value) for value in theirs)
    (used,) = _rows(running_app, "SELECT last_used_at FROM api_keys")
    assert used.last_used_at is not None

    (mine,) = _reader(running_app).get_service_requests(service_request_id=str(filed))
    assert (mine["status"], mine["service_code"], mine["service_name"]) == (
        "open",
        "road",
        "道路の穴・段差",
    )
    assert mine["media_url"] == MEDIA and mine["description"] == "段差でつまずきそうです"
    assert (mine["lat"], mine["long"]) == pytest.approx(OJI_12M_EAST)
    assert mine["address"] == "王子2丁目の歩道"
    line_report = _reader(running_app, "xml").get_service_request(str(line_no))
    assert line_report["status"] == "open" and line_report["address"] == "東京都北区王子2-7-1"
    # The resident's photo and words stay with the crews.
    assert "media_url" not in line_report and not line_report["description"]
    (by_token,) = _filer(running_app).get_token(answer["token"])
    assert by_token == {"service_request_id": str(filed), "token": answer["token"]}

    (photo_key,) = [row.photo_key for row in _rows(running_app, "SELECT * FROM report_photos")]
    with httpx.Client(base_url=_base(running_app), trust_env=False, timeout=10) as client:
        bodies = [
            client.get(path).text
            for fmt in ("json", "xml")
            for path in (
                f"/requests.{fmt}",
                f"/requests/{line_no}.{fmt}",
                f"/requests/{filed}.{fmt}",
                f"/tokens/{answer['token']}.{fmt}",
            )
        ]
    assert all(str(line_no) in body for body in bodies[:2])
    for body in bodies:
        for secret in (
            RESIDENT,
            "line_user_id",
            photo_key,
            "5cmほどの段差",
            "Taro",
            "090-1234",
            key,
        ):
            assert secret not in body


def test_filing_needs_a_live_api_key(running_app: RunningApp) -> None:
    keyless = _filer(running_app, key_required=False)
    spot: dict[str, Any] = {"lat": OJI[0], "lng": OJI[1], "description": "穴"}
    for key in (None, "not-a-key"):
        with pytest.raises(HttpError) as refused:
            _file(keyless, key, **spot)
        assert refused.value.status == 403
        ((code, description),) = _spec_errors(refused.value.body)
        assert code == 403 and "api_key" in description

    key = _new_key(running_app, "retired-app")
    assert _file(_filer(running_app), key, **spot)["service_request_id"]
    in_transaction(running_app.database_url, lambda c: apikeys.revoke_key(c, "retired-app"))
    with pytest.raises(HttpError) as revoked:
        _file(_filer(running_app, "xml"), key, **spot)
    assert revoked.value.status == 403
    ((code, description),) = _spec_errors(revoked.value.body, "xml")
    assert code == 403 and "revoked" in description
    assert len(_rows(running_app, "SELECT id FROM reports")) == 1


@pytest.mark.parametrize(
    "app_overrides", [{"open311": Open311Settings(OPEN311_REQUESTS_PER_HOUR=2)}], indirect=True
)
def test_a_key_files_at_most_its_hourly_allowance(running_app: RunningApp) -> None:
    key = _new_key(running_app, "busy-app")
    other = _new_key(running_app, "quiet-app")
    spot: dict[str, Any] = {"lat": OJI[0], "lng": OJI[1], "description": "穴"}
    for _ in range(2):
        assert _file(_filer(running_app), key, **spot)["service_request_id"]
    with pytest.raises(HttpError) as refused:
        _file(_filer(running_app), key, **spot)
    assert refused.value.status == 429
    ((code, description),) = _spec_errors(refused.value.body)
    assert code == 429 and "OPEN311_REQUESTS_PER_HOUR = 2" in description
    # Another system's allowance is its own.
    assert _file(_filer(running_app), other, **spot)["service_request_id"]
    assert len(_rows(running_app, "SELECT id FROM reports")) == 3


@pytest.mark.parametrize(
    "app_overrides", [{"open311": Open311Settings(OPEN311_REQUESTS_PER_HOUR=10)}], indirect=True
)
def test_the_hourly_allowance_holds_under_concurrent_filings(running_app: RunningApp) -> None:
    key = _new_key(running_app, "burst-app")
    form = {"api_key": key, "service_code": "road", "lat": str(OJI[0]), "long": str(OJI[1])}
    start = threading.Barrier(20)

    def post(_: int) -> int:
        with httpx.Client(base_url=_base(running_app), trust_env=False, timeout=30) as client:
            start.wait()
            return client.post("/requests.json", data=form).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(pool.map(post, range(20)))
    assert statuses == [200] * 10 + [429] * 10
    assert len(_rows(running_app, "SELECT id FROM reports")) == 10


def test_bad_filings_are_refused_naming_each_problem(running_app: RunningApp) -> None:
    key = _new_key(running_app, "partner-app")
    good = {"api_key": key, "service_code": "road", "lat": str(OJI[0]), "long": str(OJI[1])}

    def problems(fmt: str = "json", **changes: str) -> tuple[int, list[str]]:
        form = {k: v for k, v in {**good, **changes}.items() if v}
        refused = _raw_post(running_app, form, fmt)
        errors = _spec_errors(refused.body, fmt)
        assert {code for code, _ in errors} == {refused.status}
        return refused.status, [description for _, description in errors]

    assert problems(lat="north") == (400, ["lat 'north' is not a number"])
    assert problems(lat="95") == (400, ["lat '95' is out of range (-90 to 90)"])
    assert problems(long="") == (400, ["lat and long must be given together"])
    status, (only_address,) = problems(lat="", long="", address_string="王子1丁目")
    assert status == 400 and "cannot be located" in only_address
    status, (outside,) = problems("xml", lat=str(SHINJUKU[0]), long=str(SHINJUKU[1]))
    assert status == 400 and "outside" in outside and "北区" in outside
    status, (unknown,) = problems(service_code="pothole")
    assert status == 400 and "'pothole'" in unknown and "streetlight" in unknown
    status, several = problems(
        service_code="", media_url="javascript:alert(1)", description="x" * 501
    )
    assert status == 400 and len(several) == 3
    assert any("service_code is required" in p for p in several)
    assert any("media_url 'javascript:alert(1)'" in p for p in several)
    assert any("at most 500" in p for p in several)
    assert problems(jurisdiction_id="city.osaka.lg.jp")[0] == 404
    assert _rows(running_app, "SELECT id FROM reports") == []


def test_text_xml_cannot_hold_never_reaches_the_feed(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    # The phone's address and a crew note are the ways in that are not refused.
    resident = Resident(running_app, standin, RESIDENT, "ja")
    done = report_from_text(resident, address="東京都北区\x01王子\ufffe2-7-1\x1f")
    number = int(done.split("No.")[1].split()[0])
    (cluster,) = _rows(running_app, "SELECT cluster_id FROM reports WHERE id = :id", id=number)
    noted = civic(
        running_app.database_url,
        *("reports", "status", str(cluster.cluster_id), "accepted"),
        *("--note", "確認\x0bしました\x07"),
    )
    assert noted.returncode == 0, noted.stderr
    with httpx.Client(base_url=_base(running_app), trust_env=False, timeout=10) as client:
        for path in ("/requests.xml", f"/requests/{number}.xml", "/requests.json"):
            body = client.get(path).content
            assert re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf\xbe", body) is None, path
    (listed,) = _as_list(_reader(running_app, "xml").get_service_requests())
    assert listed["address"] == "東京都北区王子2-7-1"
    assert listed["status_notes"] == "確認しました"
    (one,) = _reader(running_app).get_service_requests(service_request_id=str(number))
    assert (one["address"], one["status_notes"]) == ("東京都北区王子2-7-1", "確認しました")


def test_filings_holding_text_xml_cannot_hold_are_refused_naming_the_field(
    running_app: RunningApp,
) -> None:
    key = _new_key(running_app, "partner-app")
    good = {"api_key": key, "service_code": "road", "lat": str(OJI[0]), "long": str(OJI[1])}
    for fmt in ("json", "xml"):
        for field, value, character in (
            ("description", "段差\x01あり", "U+0001"),
            ("address_string", "王子\x00", "U+0000"),
            ("description", "\ufffe", "U+FFFE"),
        ):
            refused = _raw_post(running_app, {**good, field: value}, fmt)
            assert refused.status == 400
            ((code, description),) = _spec_errors(refused.body, fmt)
            assert code == 400 and f"'{field}' holds {character}" in description
    assert _rows(running_app, "SELECT id FROM reports") == []


def test_a_token_holding_nul_is_refused_in_the_spec_format(running_app: RunningApp) -> None:
    with httpx.Client(base_url=_base(running_app), trust_env=False, timeout=10) as client:
        for fmt in ("json", "xml"):
            answer = client.get(f"/tokens/%00.{fmt}")
            assert answer.status_code == 400
            ((code, description),) = _spec_errors(answer.content, fmt)
            assert code == 400 and "U+0000" in description
        assert client.get("/tokens/no-such-token.json").status_code == 404


async def _synthetic_reports(conn: AsyncConnection) -> dict[str, int]:
    """Reports filed through the workflow (as the LINE chat files them), some backdated."""
    settings = ReportSettings()

    async def add(code: str, spot: tuple[float, float], days_ago: int = 0) -> int:
        new = reports.NewReport(category=code, lat=spot[0], lon=spot[1], line_user_id=RESIDENT)
        done = await reports.submit_report(conn, new, settings.duplicate_metres)
        when = datetime.now(UTC) - timedelta(days=days_ago)
        await conn.execute(
            text("UPDATE reports SET created_at = :at WHERE id = :id"),
            {"at": when, "id": done.report_id},
        )
        return done.report_id

    made = {
        "road_now": await add("road", OJI),
        "light_now": await add("streetlight", TABATA),
        "road_old": await add("road", AKABANE, days_ago=100),
        "park_recent": await add("park", AKABANE, days_ago=10),
    }
    (light_cluster,) = (
        await conn.execute(
            text("SELECT cluster_id FROM reports WHERE id = :id"), {"id": made["light_now"]}
        )
    ).one()
    await reports.change_status(
        conn,
        light_cluster,
        "resolved",
        actor="crew:tanaka",
        note="電球を交換しました",
    )
    return made


def test_requests_are_filtered_as_the_spec_says(running_app: RunningApp) -> None:
    made = in_transaction(running_app.database_url, _synthetic_reports)
    now = datetime.now(UTC)
    reader = _reader(running_app)

    def on(days_ago: int) -> str:
        return (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # The last 90 days by default: the 100-day-old report is left out.
    assert _ids(reader.get_service_requests()) == {
        made["road_now"],
        made["light_now"],
        made["park_recent"],
    }
    (closed,) = reader.get_service_requests(status="closed")
    assert int(closed["service_request_id"]) == made["light_now"]
    assert (closed["status"], closed["status_notes"]) == ("closed", "電球を交換しました")
    xml_closed = _as_list(_reader(running_app, "xml").get_service_requests(status="closed"))
    assert [r["status_notes"] for r in xml_closed] == ["電球を交換しました"]
    assert _ids(reader.get_service_requests(status="open")) == {
        made["road_now"],
        made["park_recent"],
    }
    assert _ids(reader.get_service_requests(service_code="road,streetlight")) == {
        made["road_now"],
        made["light_now"],
    }
    assert _ids(reader.get_service_requests(start_date=on(120), end_date=on(80))) == {
        made["road_old"]
    }
    # A start alone covers 90 days from it: 101 days ago to 11 days ago.
    assert _ids(reader.get_service_requests(start_date=on(101))) == {made["road_old"]}
    assert _ids(reader.get_service_requests(end_date=on(5))) == {made["park_recent"]}
    by_id = reader.get_service_requests(
        service_request_id=f"{made['road_old']},{made['road_now']}", status="closed"
    )
    assert _ids(by_id) == {made["road_old"], made["road_now"]}

    refusals = {
        "span": {"start_date": on(200), "end_date": on(1)},
        "format": {"start_date": "yesterday"},
        "zone": {"start_date": "2024-04-01T09:00:00"},
        "status": {"status": "pending"},
        "code": {"service_code": "pothole"},
    }
    said = {}
    for reason, params in refusals.items():
        refused = _http_error(reader.get_service_requests, **params)
        assert refused.status_code == 400, reason
        ((_, said[reason]),) = _spec_errors(refused.content)
        assert next(iter(params)) in said[reason], reason
    assert "at most 90" in said["span"] and "no time zone" in said["zone"]

    for fmt in ("json", "xml"):
        gone = _http_error(_reader(running_app, fmt).get_service_request, "999999")
        assert gone.status_code == 404 and _spec_errors(gone.content, fmt)[0][0] == 404
        assert _http_error(_reader(running_app, fmt).get_service_request, "abc").status_code == 404
    with pytest.raises(HttpError) as no_token:
        _filer(running_app).get_token("5d1c1a8e-0000-4000-8000-000000000000")
    assert no_token.value.status == 404


@pytest.mark.parametrize(
    "app_overrides", [{"open311": Open311Settings(OPEN311_MAX_REQUESTS=2)}], indirect=True
)
def test_at_most_max_requests_newest_first(running_app: RunningApp) -> None:
    made = in_transaction(running_app.database_url, _synthetic_reports)
    found = _reader(running_app).get_service_requests()
    assert [int(r["service_request_id"]) for r in found] == [made["light_now"], made["road_now"]]


def test_civic_apikey_add_list_revoke(running_app: RunningApp) -> None:
    url = running_app.database_url
    added = civic(url, "apikey", "add", "city-partner")
    assert added.returncode == 0, added.stderr
    found = re.search(r"api_key: (\S+)", added.stdout)
    assert found, added.stdout
    key = found.group(1)
    spot: dict[str, Any] = {"lat": OJI[0], "lng": OJI[1]}
    assert _file(_filer(running_app), key, **spot)["service_request_id"]

    listed = civic(url, "apikey", "list")
    assert "city-partner: live" in listed.stdout and key not in listed.stdout
    assert civic(url, "apikey", "revoke", "city-partner").returncode == 0
    with pytest.raises(HttpError) as refused:
        _file(_filer(running_app), key, **spot)
    assert refused.value.status == 403
    assert "city-partner: revoked" in civic(url, "apikey", "list").stdout

    again = civic(url, "apikey", "add", "city-partner")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "api_key:" not in again.stdout
