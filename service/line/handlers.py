"""Handlers of LINE events taken from the inbox: event -> gis query -> message -> platform.

Events are plain dicts in LINE's webhook JSON (as stored in the inbox). Unknown event and
message types are ignored without error, as are events in standby mode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Text, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from gis import evacuation, nearby, shelter_status
from gis.crs import on_earth
from gis.hazards import ShelterHazard, shelter_hazard_for
from gis.nearby import NearbySite
from service.line import area_chat, conversation, facility_chat, language_chat, messages, pending
from service.line import report_messages as rm
from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.inbox import InboxEvent
from service.line.messages import Message
from service.settings import AnswerSettings
from service.tables import line_users, report_drafts
from service.vocabulary import Lang, Phrase, language_of
from service.vocabulary.commands import said

log = logging.getLogger(__name__)

# Translators: words a resident types to find shelters and the hazards at a spot, separated
# by |.
SHELTER = Phrase("words", "shelter|shelters|evacuation site|hazard|hazard map")
# The pending request of a resident who asked for the shelter search.
SHELTER_PENDING = "shelter"

# Features that own some postbacks, words and pending requests: each answers an event it
# recognises, or returns None to pass it on.
FEATURES: tuple[Callable[[HandlerContext, Turn], Awaitable[list[Message] | None]], ...] = (
    language_chat.respond,
    area_chat.respond,
    facility_chat.respond,
)


@dataclass(frozen=True)
class UserState:
    """What the handlers keep of a user between events."""

    lang: Lang
    pending: str | None


def _user_and_draft(user_id: str) -> Select[Any]:
    """The resident's row of line_users (NULLs if unknown) and their report draft (NULLs if
    none) in one row: one round trip for both, on every message."""
    key = select(literal(user_id, Text).label("user_id")).subquery("key")
    return select(
        line_users.c.user_id.label("known_user"),
        line_users.c.language,
        line_users.c.pending,
        line_users.c.pending_at,
        *conversation.DRAFT_COLUMNS,
    ).select_from(
        key.outerjoin(line_users, line_users.c.user_id == key.c.user_id).outerjoin(
            report_drafts, report_drafts.c.line_user_id == key.c.user_id
        )
    )


async def _remember_user(
    ctx: HandlerContext, user_id: str, *, following: bool | None = None
) -> UserState:
    """The user's reply language and pending request, recording whether they follow us."""
    async with ctx.engine.connect() as conn:
        row = (
            await conn.execute(select(line_users).where(line_users.c.user_id == user_id))
        ).first()
    return await _remembered(ctx, user_id, row, following)


async def _remembered(
    ctx: HandlerContext, user_id: str, row: Any, following: bool | None
) -> UserState:
    """The state in `row` (line_users' columns, None for a user not seen before); a new
    user is stored, asking LINE for their profile's language."""
    language = row.language if row is not None else None
    if row is None or following is not None:
        if language is None and following is not False:
            language = await ctx.platform.profile_language(user_id)
        values: dict[str, Any] = {"user_id": user_id, "language": language}
        if following is not None:
            values["following"] = following
        stmt = insert(line_users).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[line_users.c.user_id],
            set_={
                **{k: stmt.excluded[k] for k in values if k != "user_id"},
                "updated_at": func.now(),
            },
        )
        async with ctx.engine.begin() as conn:
            await conn.execute(stmt)
    waiting = (
        pending.current(row.pending, row.pending_at, datetime.now(UTC)) if row is not None else None
    )
    return UserState(language_of(language), waiting)


async def _answer(
    ctx: HandlerContext, event: InboxEvent, user_id: str | None, reply: list[Message]
) -> None:
    age = (datetime.now(UTC) - event.received_at).total_seconds()
    how = await ctx.platform.answer(
        user_id=user_id,
        reply_token=event.payload.get("replyToken"),
        event_age_seconds=age,
        messages=reply,
    )
    log.info("event %s answered by %s", event.event_id, how)


def _skipped(
    sites: list[NearbySite], unsuited: NearbySite | None, wanted: list[ShelterHazard]
) -> NearbySite | None:
    """`unsuited` when it is nearer than the nearest listed site designated for a `wanted`
    hazard: a site the resident may see on the way and wonder why it is not offered."""
    suited = [site.distance_m for site in sites if site.hazards & set(wanted)]
    if unsuited is None or not suited or unsuited.distance_m >= min(suited):
        return None
    return unsuited


async def location_answer(
    engine: AsyncEngine, settings: AnswerSettings, lon: float, lat: float
) -> messages.LocationAnswer:
    """Run the location queries for one point, with the sites' status, the declared hazard
    if any, and what to do there."""
    async with engine.connect() as conn:
        area = await nearby.service_area_check(conn, lon, lat)
        hazards = await nearby.hazards_at(conn, lon, lat, settings.hazard_near_metres)
        loaded = await nearby.loaded_hazard_kinds(conn)
        faced = list(dict.fromkeys(shelter_hazard_for(hit.kind) for hit in hazards))
        declared = await shelter_status.active_hazard(conn)
        active = declared.hazard if declared is not None else None
        wanted = list(dict.fromkeys([*faced, *([active] if active else [])]))
        sites = await nearby.nearest_sites(
            conn, lon, lat, limit=settings.nearest_sites, prefer=faced, active=active
        )
        unsuited = (
            await nearby.nearest_unsuited_site(
                conn, lon, lat, wanted, listed=[site.common_id for site in sites]
            )
            if wanted
            else None
        )
        unavailable = await nearby.unavailable_sites(conn, lon, lat, nearest=settings.nearest_sites)
        without = await nearby.hazards_without_sites(conn, list(ShelterHazard))
        facilities = await nearby.loaded_facility_categories(conn)
    # Outside the service area the zone layers end: no saying it is outside every zone.
    covered = loaded if area.inside else []
    return messages.LocationAnswer(
        lon=lon,
        lat=lat,
        area=area,
        hazards=hazards,
        loaded_kinds=loaded,
        faced=faced,
        sites=sites,
        without_site=without,
        advice=evacuation.advise(hazards, covered, active, without),
        active_hazard=active,
        unavailable=unavailable,
        skipped=_skipped(sites, unsuited, wanted),
        facilities=facilities,
    )


async def _shelter_or_help(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    """The answer to an event that no conversation took; None to ignore it."""
    message = turn.message
    kind = message.get("type")
    if kind == "location":
        lon, lat = float(message["longitude"]), float(message["latitude"])
        if not on_earth(lon, lat):
            return messages.unreadable_location(lat, lon, turn.lang)
        answer = await location_answer(ctx.engine, ctx.answer, lon, lat)
        texts = messages.AnswerTexts(
            walking_metres_per_minute=ctx.answer.walking_metres_per_minute,
            hazard_map_url=ctx.answer.hazard_map_url,
        )
        return messages.location_answer(answer, turn.lang, texts)
    if said(SHELTER, turn.text):
        # The next location answers this, even if a report draft also waits for one.
        await pending.set_pending(ctx.engine, turn.user_id, SHELTER_PENDING)
        return messages.ask_location(turn.lang)
    if kind == "text":
        found = ctx.keywords.match(str(message.get("text", "")))
        if found is not None:
            return [found.message(turn.lang)]
    if kind in ("text", "image", "video", "audio", "file", "sticker") or turn.payload.get(
        "postback"
    ):
        async with ctx.engine.connect() as conn:
            facilities = await nearby.loaded_facility_categories(conn)
            declared = await shelter_status.active_hazard(conn)
        return messages.help_message(turn.lang, facilities, disaster=declared is not None)
    return None


async def _respond(
    ctx: HandlerContext, turn: Turn, draft: conversation.Draft | None
) -> list[Message] | None:
    """Route one resident's event: their pending request and the features' own postbacks
    and words first, then the report conversation, then the shelter search and keywords."""
    for feature in FEATURES:
        reply = await feature(ctx, turn)
        if reply is not None:
            return reply
    # In a disaster the shelter search wins, even in the middle of a report.
    asked_for_shelter = said(SHELTER, turn.text) or (
        turn.pending == SHELTER_PENDING and turn.message.get("type") == "location"
    )
    if not asked_for_shelter:
        reply = await conversation.respond(ctx.report, turn, draft)
        if reply is not None:
            return reply
    return await _shelter_or_help(ctx, turn)


async def handle_event(ctx: HandlerContext, event: InboxEvent) -> bool:
    """Handle one inbox event. Returns False when the event was ignored."""
    payload = event.payload
    if payload.get("mode") == "standby":
        return False
    user_id = (payload.get("source") or {}).get("userId")
    kind = payload.get("type")
    if not user_id or kind not in ("follow", "unfollow", "message", "postback"):
        return False
    if kind == "unfollow":
        await _remember_user(ctx, user_id, following=False)
        return True
    if kind == "follow":
        user = await _remember_user(ctx, user_id, following=True)
        await _answer(ctx, event, user_id, messages.greeting(user.lang))
        return True
    async with ctx.engine.connect() as conn:
        row = (await conn.execute(_user_and_draft(user_id))).one()
    user = await _remembered(ctx, user_id, row if row.known_user is not None else None, None)
    turn = Turn(user_id=user_id, lang=user.lang, payload=payload, pending=user.pending)
    draft, expired = conversation.draft_from_row(row, user_id, ctx.report.settings.draft_minutes)
    notes = []
    if expired:
        async with ctx.engine.begin() as conn:
            await conversation.delete_draft(conn, user_id)
        notes.append(rm.expired(round(ctx.report.settings.draft_minutes), turn.lang))
    reply = await _respond(ctx, turn, draft)
    if turn.pending and turn.message.get("type") == "location":
        await pending.clear_pending(ctx.engine, user_id)
    if reply is None:
        return False
    if reply or notes:
        await _answer(ctx, event, user_id, [*notes, *reply])
    return True
