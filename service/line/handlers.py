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

from sqlalchemy import Row, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from gis import evacuation, nearby
from gis.crs import on_earth
from gis.hazards import ShelterHazard, shelter_hazard_for
from gis.nearby import NearbySite
from service.line import area_chat, conversation, facility_chat, language_chat, messages, pending
from service.line import report_messages as rm
from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.inbox import InboxEvent
from service.line.messages import Message
from service.line.payload import PayloadError, text_field
from service.line.payload import user_id as payload_user_id
from service.settings import AnswerSettings
from service.tables import line_users
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


# A resident's row and report draft, in one round trip: both are read for every message
# and postback.
_RESIDENT = text("""
    SELECT u.user_id IS NOT NULL AS known, u.language, u.pending, u.pending_at,
           CASE WHEN d.line_user_id IS NOT NULL THEN to_jsonb(d) END AS draft
    FROM (SELECT CAST(:user_id AS text) AS id) k
    LEFT JOIN line_users u ON u.user_id = k.id
    LEFT JOIN report_drafts d ON d.line_user_id = k.id
""")


async def _resident(ctx: HandlerContext, user_id: str) -> Row[Any]:
    """The resident's row (`known`, language, pending request) and draft (`draft`)."""
    async with ctx.engine.connect() as conn:
        return (await conn.execute(_RESIDENT, {"user_id": user_id})).one()


async def _remember_user(
    ctx: HandlerContext, user_id: str, resident: Row[Any], *, following: bool | None = None
) -> UserState:
    """The user's reply language and pending request, asking LINE for their profile the
    first time."""
    language = resident.language
    if not resident.known or following is not None:
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
    waiting = pending.current(resident.pending, resident.pending_at, datetime.now(UTC))
    return UserState(language_of(language), waiting)


async def _answer(
    ctx: HandlerContext, event: InboxEvent, user_id: str | None, reply: list[Message]
) -> None:
    age = (datetime.now(UTC) - event.received_at).total_seconds()
    token = event.payload.get("replyToken")
    how = await ctx.platform.answer(
        event_id=event.event_id,
        user_id=user_id,
        reply_token=token if isinstance(token, str) else None,
        event_age_seconds=age,
        repeat=event.taken_over,
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
        data = await nearby.loaded_data(conn)
        faced = list(dict.fromkeys(shelter_hazard_for(hit.kind) for hit in hazards))
        active = data.declared.hazard if data.declared is not None else None
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
    # Outside the service area the zone layers end: no saying it is outside every zone.
    covered = data.hazard_kinds if area.inside else []
    return messages.LocationAnswer(
        lon=lon,
        lat=lat,
        area=area,
        hazards=hazards,
        loaded_kinds=data.hazard_kinds,
        faced=faced,
        sites=sites,
        without_site=data.hazards_without_sites,
        advice=evacuation.advise(hazards, covered, active, data.hazards_without_sites),
        active_hazard=active,
        unavailable=unavailable,
        skipped=_skipped(sites, unsuited, wanted),
        facilities=data.facility_categories,
    )


async def _shelter_or_help(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    """The answer to an event that no conversation took; None to ignore it."""
    kind = turn.message.get("type")
    if kind == "location":
        lon, lat = turn.location
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
        found = ctx.keywords.match(text_field(turn.message, "text"))
        if found is not None:
            return [found.message(turn.lang)]
    if kind in ("text", "image", "video", "audio", "file", "sticker") or turn.payload.get(
        "postback"
    ):
        return await _help(ctx, turn.lang)
    return None


async def _help(ctx: HandlerContext, lang: Lang) -> list[Message]:
    """What the bot can do, for an event it cannot answer otherwise."""
    async with ctx.engine.connect() as conn:
        data = await nearby.loaded_data(conn)
    return messages.help_message(lang, data.facility_categories, disaster=data.declared is not None)


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
    user_id = payload_user_id(payload)
    kind = payload.get("type")
    if not user_id or kind not in ("follow", "unfollow", "message", "postback"):
        return False
    resident = await _resident(ctx, user_id)
    if kind == "unfollow":
        await _remember_user(ctx, user_id, resident, following=False)
        return True
    if kind == "follow":
        user = await _remember_user(ctx, user_id, resident, following=True)
        await _answer(ctx, event, user_id, messages.greeting(user.lang))
        return True
    user = await _remember_user(ctx, user_id, resident)
    turn = Turn(user_id=user_id, lang=user.lang, payload=payload, pending=user.pending)
    draft, expired = await conversation.current_draft(
        ctx.engine, user_id, resident.draft, ctx.report.settings.draft_minutes
    )
    notes = []
    if expired:
        notes.append(rm.expired(round(ctx.report.settings.draft_minutes), turn.lang))
    try:
        reply = await _respond(ctx, turn, draft)
    except PayloadError as exc:
        # Malformed (no LINE client sends it): the resident learns what the bot can do, at
        # once; a retry could only fail the same way.
        log.info("event %s is malformed (%s): answered with the help message", event.event_id, exc)
        reply = await _help(ctx, turn.lang)
    else:
        if turn.pending and turn.message.get("type") == "location":
            await pending.clear_pending(ctx.engine, user_id)
    if reply is None:
        return False
    if reply or notes:
        await _answer(ctx, event, user_id, [*notes, *reply])
    return True
