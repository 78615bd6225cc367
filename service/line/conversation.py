"""The report conversation: a draft per resident, and the bot asks only for what is missing.

A report starts from a photo, from a location sent while a draft waits for one, from the
text 通報 / report, or from a postback (a rich-menu button). The steps are category ->
location -> photos (optional) -> description (optional) -> confirm; the resident can cancel
at any step, and a draft left alone for REPORT_DRAFT_MINUTES expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from linebot.v3.messaging.exceptions import ApiException
from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis import nearby
from service import reports
from service.line import report_messages as rm
from service.line.messages import Message, clip_text
from service.line.payload import PayloadError, coordinate, section, text_field
from service.line.platform import LinePlatform, PlatformError
from service.photo_processing import PhotoProcessing
from service.photos import PhotoError, PhotoLimits, PhotoStore
from service.settings import ReportSettings
from service.tables import report_drafts
from service.vocabulary import Lang, Phrase, words
from service.vocabulary.commands import normalise, said

log = logging.getLogger(__name__)

# Translators: words a resident types to start a defect report, separated by |.
START = Phrase("words", "report|report a problem")
# Translators: words that cancel the report being written, separated by |.
CANCEL = Phrase("words", "cancel|stop")
# Translators: words that skip an optional step (photos, description), separated by |.
SKIP = Phrase("words", "skip|next|none")
# Translators: words that send the report at its last step, separated by |.
SUBMIT = Phrase("words", "send|send report|yes")


@dataclass
class Draft:
    """A report being put together."""

    line_user_id: str
    category: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    photo_keys: list[str] = field(default_factory=list)
    image_sets: dict[str, Any] = field(default_factory=dict)
    photos_done: bool = False
    description: str | None = None

    def next_step(self, max_photos: int) -> str:
        """What the bot asks for next."""
        if self.category is None:
            return "category"
        if self.lon is None:
            return "location"
        if not self.photos_done and len(self.photo_keys) < max_photos:
            return "photos"
        if self.description is None:
            return "description"
        return "confirm"


@dataclass
class ReportContext:
    """What the conversation needs."""

    engine: AsyncEngine
    platform: LinePlatform
    settings: ReportSettings
    photos: PhotoStore
    processing: PhotoProcessing


async def current_draft(
    engine: AsyncEngine, user_id: str, stored: Mapping[str, Any] | None, max_minutes: float
) -> tuple[Draft | None, bool]:
    """The resident's draft from its stored row (report_drafts' columns, None without one),
    and whether an expired one was just discarded."""
    if stored is None:
        return None, False
    updated_at = stored["updated_at"]
    if isinstance(updated_at, str):  # read as JSON
        updated_at = datetime.fromisoformat(updated_at)
    if updated_at < datetime.now(UTC) - timedelta(minutes=max_minutes):
        async with engine.begin() as conn:
            await delete_draft(conn, user_id)
        return None, True
    draft = Draft(
        line_user_id=user_id,
        category=stored["category"],
        lon=stored["lon"],
        lat=stored["lat"],
        address=stored["address"],
        photo_keys=list(stored["photo_keys"]),
        image_sets=dict(stored["image_sets"]),
        photos_done=stored["photos_done"],
        description=stored["description"],
    )
    return draft, False


async def save_draft(conn: AsyncConnection, draft: Draft, awaiting: str) -> None:
    """Store the draft and the step the bot is now waiting for."""
    values = {
        "line_user_id": draft.line_user_id,
        "category": draft.category,
        "lon": draft.lon,
        "lat": draft.lat,
        "address": draft.address,
        "photo_keys": draft.photo_keys,
        "image_sets": draft.image_sets,
        "photos_done": draft.photos_done,
        "description": draft.description,
        "awaiting": awaiting,
        "updated_at": func.now(),
    }
    stmt = insert(report_drafts).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[report_drafts.c.line_user_id],
        set_={k: stmt.excluded[k] for k in values if k != "line_user_id"},
    )
    await conn.execute(stmt)


async def delete_draft(conn: AsyncConnection, user_id: str) -> None:
    """Forget the draft (submitted, cancelled or expired)."""
    await conn.execute(delete(report_drafts).where(report_drafts.c.line_user_id == user_id))


@dataclass(frozen=True)
class Turn:
    """One event, as the conversation sees it."""

    user_id: str
    lang: Lang
    payload: dict[str, Any]
    # What the bot asked for and waits on (service/line/pending.py), if anything.
    pending: str | None = None

    @property
    def message(self) -> dict[str, Any]:
        """The message of a message event ({} for other events)."""
        return section(self.payload, "message")

    @property
    def postback(self) -> dict[str, list[str]]:
        """The fields of a postback's data."""
        return parse_qs(text_field(section(self.payload, "postback"), "data"))

    @property
    def location(self) -> tuple[float, float]:
        """(lon, lat) of a location message, or of a postback that carries one;
        PayloadError when they are missing or no numbers."""
        if self.message.get("type") == "location":
            message = self.message
            lon, lat = message.get("longitude"), message.get("latitude")
        else:
            postback = self.postback
            lon, lat = postback.get("lon", [None])[0], postback.get("lat", [None])[0]
        return coordinate(lon, "longitude"), coordinate(lat, "latitude")

    @property
    def text(self) -> str:
        return (
            normalise(text_field(self.message, "text"))
            if self.message.get("type") == "text"
            else ""
        )


def _question(ctx: ReportContext, draft: Draft, step: str, lang: Lang) -> Message:
    settings = ctx.settings
    if step == "category":
        return rm.ask_category(settings.categories, lang)
    if step == "location":
        return rm.ask_location(lang)
    if step == "photos":
        return rm.ask_photos(len(draft.photo_keys), settings.max_photos, lang)
    if step == "description":
        return rm.ask_description(settings.description_max, lang)
    category = settings.category(draft.category or "")
    assert category is not None and draft.lat is not None and draft.lon is not None  # noqa: S101
    place = draft.address or f"{draft.lat:.5f}, {draft.lon:.5f}"
    return rm.confirm(category, place, len(draft.photo_keys), draft.description or "", lang)


async def _ask_next(
    ctx: ReportContext, draft: Draft, lang: Lang, before: list[Message]
) -> list[Message]:
    step = draft.next_step(ctx.settings.max_photos)
    async with ctx.engine.begin() as conn:
        await save_draft(conn, draft, step)
    return [*before, _question(ctx, draft, step, lang)]


async def _over_limit(ctx: ReportContext, user_id: str) -> bool:
    async with ctx.engine.connect() as conn:
        return await reports.reports_in_last_hour(conn, user_id) >= ctx.settings.per_hour


def _intent(turn: Turn, draft: Draft | None) -> str | None:
    """What the resident means, as far as reports are concerned (None: not about a report)."""
    action = turn.postback.get("report", [None])[0]
    if action:
        return str(action)
    kind = turn.message.get("type")
    if said(CANCEL, turn.text):
        return "cancel"
    if said(START, turn.text):
        return "start"
    if kind == "image":
        return "photo"
    if draft is None:
        return None
    if kind == "location" and draft.lon is None:
        return "location"
    if kind != "text":
        return None
    return "text"


async def respond(ctx: ReportContext, turn: Turn, draft: Draft | None) -> list[Message] | None:
    """The answer to one event if it is about a report, else None. An empty list means
    "stay silent" (more photos of the same set are on their way)."""
    intent = _intent(turn, draft)
    if intent is None:
        return None
    lang = turn.lang
    if intent == "cancel":
        if draft is None:
            return [rm.nothing_to_cancel(lang)]
        async with ctx.engine.begin() as conn:
            await delete_draft(conn, turn.user_id)
        return [rm.cancelled(lang)]
    if draft is None:
        if intent not in ("start", "photo"):
            return None  # e.g. a stale category button: answered by the caller's help text
        if await _over_limit(ctx, turn.user_id):
            return [rm.rate_limited(ctx.settings.per_hour, lang)]
        draft = Draft(line_user_id=turn.user_id)
    return await _advance(ctx, turn, draft, intent)


async def _advance(
    ctx: ReportContext, turn: Turn, draft: Draft, intent: str
) -> list[Message] | None:
    lang = turn.lang
    step = draft.next_step(ctx.settings.max_photos)
    notes: list[Message] = []
    if intent == "photo":
        photo_notes = await _add_photo(ctx, turn, draft)
        if photo_notes is None:
            async with ctx.engine.begin() as conn:
                await save_draft(conn, draft, step)
            return []
        notes = photo_notes
    elif intent == "location" or (intent == "start" and "lat" in turn.postback):
        # A location message, or "report a problem here" under a location answer.
        lon, lat = turn.location
        outside = await _outside_area(ctx, lon, lat, lang)
        if outside is not None:
            return [rm.out_of_area(outside, lang), rm.ask_location(lang)]
        draft.lon, draft.lat = lon, lat
        draft.address = text_field(turn.message, "address") or None
    elif intent == "category":
        code = turn.postback.get("code", [""])[0]
        if ctx.settings.category(code) is not None:
            draft.category = code
    elif intent == "photos_done":
        draft.photos_done = True
    elif intent == "no_description":
        draft.description = ""
    elif intent == "submit":
        if step == "confirm":
            return await _submit(ctx, turn, draft)
    elif intent == "text":
        if step == "confirm" and said(SUBMIT, turn.text):
            return await _submit(ctx, turn, draft)
        if not _apply_text(ctx, turn, draft, step):
            return [rm.not_understood(lang), _question(ctx, draft, step, lang)]
    return await _ask_next(ctx, draft, lang, notes)


def _apply_text(ctx: ReportContext, turn: Turn, draft: Draft, step: str) -> bool:
    """Use a typed answer for the current step; False if it does not answer it."""
    raw = text_field(turn.message, "text").strip()
    if step == "category":
        for category in ctx.settings.categories:
            if turn.text in {normalise(text) for text in category.texts.values()}:
                draft.category = category.code
                return True
    elif step == "photos" and said(SKIP, turn.text):
        draft.photos_done = True
        return True
    elif step == "description":
        skip = said(SKIP, turn.text)
        draft.description = "" if skip else clip_text(raw, ctx.settings.description_max)
        return True
    return False


async def _outside_area(ctx: ReportContext, lon: float, lat: float, lang: Lang) -> str | None:
    async with ctx.engine.connect() as conn:
        check = await nearby.service_area_check(conn, lon, lat)
    if check.inside:
        return None
    return check.area_name or words(lang).gettext("our area")


async def _add_photo(ctx: ReportContext, turn: Turn, draft: Draft) -> list[Message] | None:
    """Fetch, check and store a photo. Returns notes for the reply, or None to stay silent
    while the rest of an image set is still arriving."""
    message = turn.message
    lang = turn.lang
    image_set = _image_set(message)
    message_id = text_field(message, "id")
    if not message_id:
        raise PayloadError("the image has no message id")
    notes: list[Message] = []
    if len(draft.photo_keys) >= ctx.settings.max_photos:
        notes.append(rm.too_many_photos(ctx.settings.max_photos, lang))
    else:
        try:
            data, _ = await ctx.platform.message_content(message_id)
            limits = PhotoLimits(max_bytes=ctx.settings.photo_max_bytes)
            photo = await ctx.processing.process(data, limits)
            await asyncio.to_thread(ctx.photos.put, photo)
        except PhotoError as exc:
            log.info("photo %s refused: %s", message_id, exc)
            refused = rm.photo_failed if exc.reason == "corrupt" else rm.photo_not_image
            notes.append(refused(lang))
        except (ApiException, aiohttp.ClientError, TimeoutError, PlatformError) as exc:
            # LINE keeps content only for a while; the report must not be lost over it.
            log.warning("photo %s could not be fetched: %r", message_id, exc)
            notes.append(rm.photo_failed(lang))
        else:
            if photo.key not in draft.photo_keys:
                draft.photo_keys.append(photo.key)
    if image_set is not None:
        # Several photos sent at once arrive as separate events, in any order: answer once,
        # when the set is complete (or at once if this one needs saying something).
        set_id, index, total = image_set
        seen = draft.image_sets.setdefault(set_id, [])
        if index not in seen:
            seen.append(index)
        if not notes and len(seen) < total:
            return None
    if len(draft.photo_keys) >= ctx.settings.max_photos:
        draft.photos_done = True
    return notes


def _image_set(message: dict[str, Any]) -> tuple[str, object, int] | None:
    """(id, index, total) of the image set a photo belongs to, None for a single photo."""
    image_set = section(message, "imageSet")
    if not image_set:
        return None
    set_id, total = image_set.get("id"), image_set.get("total", 1)
    if not isinstance(set_id, str | int) or not isinstance(total, int) or total < 1:
        raise PayloadError("imageSet has no id or no total")
    return str(set_id), image_set.get("index"), total


async def _submit(ctx: ReportContext, turn: Turn, draft: Draft) -> list[Message]:
    lang = turn.lang
    if await _over_limit(ctx, turn.user_id):
        return [rm.rate_limited(ctx.settings.per_hour, lang)]
    assert draft.category is not None and draft.lon is not None and draft.lat is not None  # noqa: S101
    new = reports.NewReport(
        category=draft.category,
        lon=draft.lon,
        lat=draft.lat,
        address=draft.address or "",
        description=draft.description or "",
        photo_keys=draft.photo_keys,
        line_user_id=turn.user_id,
        language=lang,
    )
    async with ctx.engine.begin() as conn:
        result = await reports.submit_report(conn, new, ctx.settings.duplicate_metres)
        await delete_draft(conn, turn.user_id)
    return [rm.submitted(result.report_id, result.joined_existing, result.report_count, lang)]
