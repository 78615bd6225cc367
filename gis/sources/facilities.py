"""Facilities from the municipalities' standard open data: 公共施設一覧, 医療機関一覧 and
AED設置箇所一覧, as CSV in either generation of the national layout.

- 推奨データセット (older): 公共施設一覧 is `都道府県コード又は市区町村コード, NO, 都道府県名,
  市区町村名, 名称, 名称_カナ, 名称_通称, POIコード, 住所, 方書, 緯度, 経度, 電話番号, 内線番号,
  法人番号, 団体名, 利用可能曜日, 開始時間, 終了時間, 利用可能日時特記事項, 説明,
  バリアフリー情報, URL, 備考`; AED設置箇所一覧 adds `設置位置` and `小児対応設備の有無`;
  医療機関一覧 has `医療機関の種類` (病院 / 有床診療所 / 無床診療所), `診療曜日`,
  `診療開始時間`, `診療終了時間`, `診療日時特記事項`, `診療科目` and `病床数` (as transcribed
  from the official definitions in NEC-FIWARE/smart-data-models, cio/12_公共施設一覧,
  cio/01_AED設置箇所一覧, cio/03_医療機関一覧).
- 自治体標準オープンデータセット (デジタル庁, newer): `全国地方公共団体コード` (6 digits), `ID`,
  `地方公共団体名`, the address split into `所在地_連結表記`, `所在地_都道府県`,
  `所在地_市区町村`, `所在地_町字`, `所在地_番地以下`, `建物名等(方書)` (published files also
  write `建物名等（方書）`, hence NFKC on the header), then `緯度`, `経度` and the same
  dataset-specific columns.

Columns are found by name. The defects of real files are fixed where that is safe and always
reported: a city code without its leading zero or its check digit, latitude and longitude
swapped; rows without coordinates are skipped (never placed at 0,0) and reported.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gis.crs import looks_like_japan
from gis.facilities import DATASET_NAMES, Dataset, FacilityCategory, categorise
from gis.sources.csvtext import read_csv
from gis.sources.errors import Fail, SourceError

LATITUDE = "緯度"
LONGITUDE = "経度"
NAME = "名称"
_CODE_COLUMNS = ("全国地方公共団体コード", "都道府県コード又は市区町村コード", "市区町村コード")
_ID_COLUMNS = ("ID", "NO", "No", "番号")
_PREFECTURE_COLUMNS = ("所在地_都道府県", "都道府県名", "地方公共団体名")
_ADDRESS_PARTS = ("所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下")
_BUILDING_COLUMNS = ("建物名等(方書)", "方書")
POI_CODE = "POIコード"
# Barrier-free facts, each a column of its own in the national layouts' facility lists (the
# 公衆トイレ一覧 ones in 自治体標準オープンデータセット, which some cities add to their
# 公共施設一覧), kept after バリアフリー情報 as residents read them ("…トイレあり").
_BARRIER_FREE_COLUMNS = (
    "車椅子使用者用トイレ有無",
    "乳幼児用設備設置トイレ有無",
    "オストメイト設置トイレ有無",
    "バリアフリートイレ数",
    "多機能トイレ数",
)
# A column of the file's own kind of facility, where it has one (not in the standard
# 公共施設一覧, but many cities add one).
_PUBLIC_TYPE_COLUMNS = ("種別", "施設種別", "施設分類", "分類", "種類")
_MEDICAL_TYPE_COLUMNS = ("医療機関の種類", "種別", "種類")
_AED_MARKERS = frozenset({"設置位置", "小児対応設備の有無"})
_MEDICAL_MARKERS = frozenset(
    {"医療機関の種類", "診療科目", "診療曜日", "診療開始時間", "病床数", "医療機関コード"}
)
# (days, opening, closing, notes), each the first column present.
_FACILITY_HOURS = (
    ("利用可能曜日",),
    ("開始時間", "利用開始時間"),
    ("終了時間", "利用終了時間"),
    ("利用可能日時特記事項", "利用可能時間特記事項"),
)
_HOURS_COLUMNS: Mapping[Dataset, tuple[tuple[str, ...], ...]] = {
    Dataset.MEDICAL: (
        ("診療曜日", "利用可能曜日"),
        ("診療開始時間", "開始時間"),
        ("診療終了時間", "終了時間"),
        ("診療日時特記事項", "利用可能日時特記事項"),
    ),
    Dataset.PUBLIC_FACILITY: _FACILITY_HOURS,
    Dataset.AED: _FACILITY_HOURS,
}

# A facility near but outside the service area still belongs to a city's list (a ward's
# list includes a hospital across the boundary); about 5 km either way.
_AREA_MARGIN_DEGREES = 0.05

# JIS X 0401 order: index + 1 is the prefecture code.
# fmt: off
_PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)
# fmt: on


@dataclass(frozen=True)
class FacilityRecord:
    """One facility as loaded: `city_code` is the 5-digit 全国地方公共団体コード, `attributes`
    every non-blank cell of the row by column name (nothing published is lost)."""

    city_code: str
    dataset: Dataset
    source_id: str
    category: FacilityCategory
    category_text: str
    name: str
    kana: str
    address: str
    phone: str
    hours: str
    url: str
    barrier_free: str
    attributes: dict[str, str]
    lon: float
    lat: float


@dataclass(frozen=True)
class RowNote:
    """A row that was skipped or fixed, and why (rows count from 1 after the header)."""

    row: int
    name: str
    field: str
    message: str


@dataclass(frozen=True)
class FacilityFile:
    """What a file held: the records to load, and what was skipped or fixed on the way.

    `present` is the (city code, ID) of every row, loaded or skipped: a skipped row is still
    in the newer file, so its older version is not retired.
    """

    dataset: Dataset
    layout: str
    records: list[FacilityRecord]
    present: frozenset[tuple[str, str]]
    skipped: list[RowNote]
    fixed: list[RowNote]


def normalise(text: str) -> str:
    """NFKC and trimmed: full-width digits, brackets and underscores become ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def check_digit(code5: str) -> str:
    """The 全国地方公共団体コード check digit of a 5-digit code: 11 - (sum of the digits
    weighted 6, 5, 4, 3, 2) mod 11, keeping the last digit (so 10 -> 0, 11 -> 1)."""
    total = sum(int(digit) * weight for digit, weight in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def _plausible(code5: str) -> bool:
    # A prefecture (01–47) and its own 000 or a municipality (100 and up).
    city = int(code5[2:])
    return 1 <= int(code5[:2]) <= len(_PREFECTURES) and (city == 0 or city >= 100)


def normalise_city_code(raw: str, prefecture: str = "") -> tuple[str, str | None]:
    """The 5-digit code of a 全国地方公共団体コード as real files write it, and what was
    fixed (None when nothing was).

    Accepts the 6-digit code, the 5-digit code (check digit dropped), and either without its
    leading zero (011002 written 11002 by a spreadsheet). A 5-digit value that reads both ways
    is settled by `prefecture` (the row's prefecture name). ValueError when it cannot be read.
    """
    text = normalise(raw)
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"not a 全国地方公共団体コード: {raw!r}")
    if len(text) == 6:
        if check_digit(text[:5]) != text[5]:
            raise ValueError(
                f"{raw!r}: check digit does not match (expected {text[:5]}{check_digit(text[:5])})"
            )
        return text[:5], None
    if len(text) == 5:
        padded = "0" + text
        readings = []
        if _plausible(text):
            readings.append((text, f"{raw!r} has no check digit: read as {text}"))
        if _plausible(padded[:5]) and check_digit(padded[:5]) == padded[5]:
            readings.append((padded[:5], f"{raw!r} lost its leading zero: read as {padded}"))
        if len(readings) == 2:
            matching = [r for r in readings if prefecture.startswith(_prefecture_of(r[0]))]
            readings = matching or readings
        if len(readings) == 1:
            return readings[0]
        if len(readings) == 2:
            raise ValueError(
                f"{raw!r} reads as {readings[0][0]} or {readings[1][0]}: give 6 digits"
            )
    if len(text) == 4 and _plausible("0" + text):
        return "0" + text, f"{raw!r} lost its leading zero and check digit: read as 0{text}"
    raise ValueError(f"not a 全国地方公共団体コード: {raw!r}")


def _prefecture_of(code5: str) -> str:
    return _PREFECTURES[int(code5[:2]) - 1]


def _first(row: Mapping[str, str], columns: Sequence[str]) -> str:
    for column in columns:
        value = row.get(column, "").strip()
        if value:
            return value
    return ""


def _first_column(header: Sequence[str], columns: Sequence[str]) -> str | None:
    return next((column for column in columns if column in header), None)


def detect_dataset(header: Sequence[str], kind: Dataset | None = None) -> Dataset:
    """The dataset a header belongs to, from its AED and medical columns; `kind` overrides
    when the columns do not say otherwise. ValueError on a contradiction."""
    columns = set(header)
    aed = sorted(columns & _AED_MARKERS)
    medical = sorted(columns & _MEDICAL_MARKERS)
    if aed and medical:
        if kind is None:
            raise ValueError(
                f"has columns of both AED ({', '.join(aed)}) and 医療機関 "
                f"({', '.join(medical)}) lists: give the kind"
            )
        return kind
    found = Dataset.AED if aed else Dataset.MEDICAL if medical else None
    if kind is not None and found is not None and found != kind:
        marker = ", ".join(aed or medical)
        raise ValueError(
            f"looks like {DATASET_NAMES[found]} ({marker}), not {DATASET_NAMES[kind]} as given"
        )
    return kind or found or Dataset.PUBLIC_FACILITY


def _time(text: str) -> str:
    """A time as "9:00", from "09:00:00" or a spreadsheet's day fraction ("0.375")."""
    value = normalise(text)
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", value)
    if clock:
        return f"{int(clock.group(1))}:{clock.group(2)}"
    if re.fullmatch(r"0?\.\d+", value):
        minutes = round(float(value) * 24 * 60)
        return f"{minutes // 60}:{minutes % 60:02d}"
    return value


def hours_text(row: Mapping[str, str], dataset: Dataset) -> str:
    """Opening hours as one line: days, opening〜closing, then the notes in brackets."""
    days, opens, closes, notes = (_first(row, c) for c in _HOURS_COLUMNS[dataset])
    span = f"{_time(opens)}〜{_time(closes)}" if opens or closes else ""
    text = " ".join(part for part in (days, span) if part)
    if notes:
        return f"{text}（{notes}）" if text else notes
    return text


def _address(row: Mapping[str, str]) -> str:
    street = _first(row, ("所在地_連結表記", "住所")) or "".join(
        row.get(part, "").strip() for part in _ADDRESS_PARTS
    )
    building = _first(row, _BUILDING_COLUMNS)
    return " ".join(part for part in (street, building) if part)


_YES = frozenset({"有", "あり", "○", "〇", "1", "true", "TRUE"})
_NO = frozenset({"無", "なし", "×", "✕", "0", "false", "FALSE"})


def _barrier_free_fact(column: str, value: str) -> str:
    """A barrier-free column as a resident reads it: 車椅子使用者用トイレあり, 多機能トイレ 2."""
    if column.endswith("有無"):
        stem = column.removesuffix("有無")
        if value in _YES:
            return f"{stem}あり"
        if value in _NO:
            return f"{stem}なし"
        return f"{stem}: {value}"
    return f"{column.removesuffix('数')} {value}"


def _barrier_free(row: Mapping[str, str]) -> str:
    """バリアフリー情報, then each barrier-free column's fact, ";"-separated."""
    facts = [_first(row, ("バリアフリー情報",))]
    facts += [
        _barrier_free_fact(column, normalise(row[column]))
        for column in _BARRIER_FREE_COLUMNS
        if row.get(column, "").strip()
    ]
    return ";".join(fact for fact in facts if fact)


def _beds(row: Mapping[str, str]) -> int | None:
    digits = re.sub(r"\D", "", normalise(row.get("病床数", "")))
    return int(digits) if digits else None


class _Reader:
    """One file's rows, turned into records; keeps the notes of what was skipped or fixed."""

    def __init__(
        self, path: str | os.PathLike[str], dataset: Dataset, area: BaseGeometry | None
    ) -> None:
        self.path = path
        self.dataset = dataset
        self.near = None if area is None else area.buffer(_AREA_MARGIN_DEGREES)
        if self.near is not None:
            shapely.prepare(self.near)
        self.skipped: list[RowNote] = []
        self.fixed: list[RowNote] = []

    def record(
        self, number: int, row: dict[str, str], city_code: str, source_id: str
    ) -> FacilityRecord | None:
        fail = partial(SourceError, self.path, feature=number, unit="row")
        name = row.get(NAME, "").strip()
        if not name:
            raise fail("missing or blank", field=NAME)
        place = self._place(number, name, row, fail)
        if place is None:
            return None
        type_columns = (
            _MEDICAL_TYPE_COLUMNS if self.dataset is Dataset.MEDICAL else _PUBLIC_TYPE_COLUMNS
        )
        type_text = _first(row, type_columns)
        category_text = _first(row, ("設置位置",)) if self.dataset is Dataset.AED else type_text
        if self.dataset is Dataset.MEDICAL and not category_text:
            category_text = _first(row, ("診療科目",))
        return FacilityRecord(
            city_code=city_code,
            dataset=self.dataset,
            source_id=source_id,
            category=categorise(
                self.dataset, type_text, name, _beds(row), normalise(row.get(POI_CODE, ""))
            ),
            category_text=category_text,
            name=name,
            kana=_first(row, ("名称_カナ",)),
            address=_address(row),
            phone=_first(row, ("電話番号", "連絡先電話番号")),
            hours=hours_text(row, self.dataset),
            url=_first(row, ("URL",)),
            barrier_free=_barrier_free(row),
            attributes={column: value.strip() for column, value in row.items() if value.strip()},
            lon=place[0],
            lat=place[1],
        )

    def _place(
        self, number: int, name: str, row: Mapping[str, str], fail: Fail
    ) -> tuple[float, float] | None:
        """(lon, lat), swapped back if the file swapped them; None (noted) if blank."""
        lat_text, lon_text = normalise(row.get(LATITUDE, "")), normalise(row.get(LONGITUDE, ""))
        if not lat_text or not lon_text:
            blank = "/".join(c for c, t in ((LATITUDE, lat_text), (LONGITUDE, lon_text)) if not t)
            self.skipped.append(RowNote(number, name, blank, "blank: not placed, not offered"))
            return None
        lat, lon = _number(lat_text, LATITUDE, fail), _number(lon_text, LONGITUDE, fail)
        field = f"{LATITUDE}/{LONGITUDE}"
        if lat == 0 and lon == 0:
            self.skipped.append(RowNote(number, name, field, "0,0 (a placeholder): not offered"))
            return None
        given, swapped = Point(lon, lat), Point(lat, lon)
        # Japan's latitudes and longitudes do not overlap, so its bounds alone tell a swap;
        # the service area, when given, also says where the swapped point lands.
        near = self.near
        if near is not None and not near.contains(given) and near.contains(swapped):
            where = " (in the service area)"
        elif looks_like_japan(given):
            return lon, lat
        elif looks_like_japan(swapped):
            where = ""
        else:
            raise fail(f"{lat_text}, {lon_text} is not a place in Japan", field=field)
        message = (
            f"swapped ({LATITUDE} {lat_text}, {LONGITUDE} {lon_text}): "
            f"read as latitude {lon_text}, longitude {lat_text}{where}"
        )
        self.fixed.append(RowNote(number, name, field, message))
        return lat, lon


def _number(text: str, field: str, fail: Fail) -> float:
    try:
        value = float(text)
    except ValueError:
        raise fail(f"not a number: {text!r}", field=field) from None
    if not math.isfinite(value):
        raise fail(f"not a number: {text!r}", field=field)
    return value


def _layout(header: Sequence[str]) -> str:
    if "全国地方公共団体コード" in header:
        return "自治体標準オープンデータセット"
    return "推奨データセット (older layout)"


def _row_dict(header: list[str], cells: list[str], fail: Fail) -> dict[str, str]:
    # Spreadsheets drop trailing empty cells or add empty ones: harmless either way.
    extra = cells[len(header) :]
    if any(cell.strip() for cell in extra):
        raise fail(f"expected {len(header)} fields, got {len(cells)}")
    cells = cells[: len(header)] + [""] * (len(header) - len(cells))
    row: dict[str, str] = {}
    for column, cell in zip(header, cells, strict=True):
        row.setdefault(column, cell)
    return row


def read_facilities_csv(
    path: str | os.PathLike[str],
    *,
    kind: Dataset | None = None,
    area: BaseGeometry | None = None,
) -> FacilityFile:
    """Read a 公共施設一覧, 医療機関一覧 or AED設置箇所一覧 CSV (either layout, UTF-8 with or
    without BOM or Shift_JIS).

    The dataset comes from the columns, or `kind`. `area` (the service area, lon/lat) lets a
    swapped latitude/longitude be recognised even where both readings fall in Japan. Raises
    SourceError naming the row and field of anything it cannot safely read.
    """
    csv_file = read_csv(path)
    rows = csv_file.rows
    if not rows:
        raise SourceError(path, "empty file")
    header = [normalise(name) for name in rows[0]]
    try:
        dataset = detect_dataset(header, kind)
    except ValueError as exc:
        raise SourceError(path, str(exc)) from exc
    code_column = _first_column(header, _CODE_COLUMNS)
    id_column = _first_column(header, _ID_COLUMNS)
    for column, found in ((_CODE_COLUMNS[0], code_column), ("ID", id_column)):
        if found is None:
            raise SourceError(path, "missing column", field=column)
    for column in (NAME, LATITUDE, LONGITUDE):
        if column not in header:
            raise SourceError(path, "missing column", field=column)
    assert code_column is not None and id_column is not None  # noqa: S101 (checked above)
    if len(rows) == 1:
        raise SourceError(path, "no data rows")
    last = rows[-1]
    if not csv_file.ends_with_newline and len(last) < len(header):
        # A file cut off mid-row: its last row would load with a cut value (a longitude
        # short of its digits), and every row after it would be retired.
        raise SourceError(
            path,
            f"has {len(last)} of {len(header)} fields and the file ends without a newline: "
            "the file looks cut off; get the whole file",
            feature=len(rows) - 1,
            unit="row",
        )
    reader = _Reader(path, dataset, area)
    records: list[FacilityRecord] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(rows[1:], start=1):
        fail = partial(SourceError, path, feature=number, unit="row")
        row = _row_dict(header, cells, fail)
        city_code = _city_code(row, code_column, number, reader, fail)
        source_id = normalise(row.get(id_column, ""))
        if not source_id:
            raise fail("missing or blank: a newer file updates rows by it", field=id_column)
        key = (city_code, source_id)
        if key in seen:
            raise fail(f"the same {id_column} as row {seen[key]}: {source_id!r}", field=id_column)
        seen[key] = number
        record = reader.record(number, row, city_code, source_id)
        if record is not None:
            records.append(record)
    return FacilityFile(
        dataset=dataset,
        layout=_layout(header),
        records=records,
        present=frozenset(seen),
        skipped=reader.skipped,
        fixed=reader.fixed,
    )


def _city_code(
    row: Mapping[str, str], column: str, number: int, reader: _Reader, fail: Fail
) -> str:
    raw = row.get(column, "").strip()
    if not raw:
        raise fail("missing or blank", field=column)
    try:
        code, fix = normalise_city_code(raw, _first(row, _PREFECTURE_COLUMNS))
    except ValueError as exc:
        raise fail(str(exc), field=column) from None
    if fix is not None:
        reader.fixed.append(RowNote(number, row.get(NAME, "").strip(), column, fix))
    return code


def note_lines(notes: Sequence[RowNote], limit: int = 10) -> list[str]:
    """Notes grouped by what happened, each group's rows listed (at most `limit` each)."""
    groups: dict[tuple[str, str], list[RowNote]] = {}
    for note in notes:
        groups.setdefault((note.field, note.message), []).append(note)
    lines = []
    for (field, message), members in groups.items():
        rows = ", ".join(f"{n.row} {n.name}".strip() for n in members[:limit])
        more = f" and {len(members) - limit} more" if len(members) > limit else ""
        lines.append(f"{field}: {message} — row {rows}{more}")
    return lines
