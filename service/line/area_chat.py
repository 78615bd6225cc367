"""Area registration in the chat: a resident registers a home spot, with consent, and picks
the kinds of alerts (topics) they want; `civic alert` and the crew page send to them.

地域登録 -> the bot asks for a location -> a spot inside the service area -> the consent
question in plain words -> 同意して登録 stores the spot with the default topics and shows the
topic switches. 配信設定 shows them again; 登録解除 deletes the registration at once.
Nothing is stored before the resident agrees.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gis import nearby
from service import resident_layers
from service.line import area_messages as am
from service.line import pending
from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.messages import Message
from service.line.payload import PayloadError
from service.settings import AlertSettings
from service.tables import resident_areas
from service.vocabulary import Phrase
from service.vocabulary.commands import said

# The pending request of a resident who was asked for the spot to register.
AREA = "area"

# Translators: words a resident types to register a spot for area alerts, separated by |.
REGISTER = Phrase("words", "register area|register")
# Translators: words a resident types to see and switch the kinds of alerts, separated by |.
SETTINGS = Phrase("words", "settings|alert settings")
# Translators: words a resident types to delete their registered spot, separated by |.
UNREGISTER = Phrase("words", "unregister|stop alerts")


def default_topics(settings: AlertSettings) -> list[str]:
    """ALERT_DEFAULT_TOPICS, keeping only configured topics, in menu order."""
    wanted = {code.strip() for code in settings.default_topics.split(",")}
    return [topic.code for topic in settings.topics if topic.code in wanted]


async def save_area(
    conn: AsyncConnection, user_id: str, lon: float, lat: float, topics: list[str]
) -> None:
    """Store the resident's spot and consent, and the hazard layers that hold it, in `conn`'s
    transaction; `topics` only when they had none registered (moving the spot keeps the
    topics they chose)."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    stmt = insert(resident_areas).values(
        user_id=user_id, geom=point, topics=topics, consent_version=am.CONSENT_VERSION
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[resident_areas.c.user_id],
        set_={
            "geom": stmt.excluded.geom,
            "consent_version": stmt.excluded.consent_version,
            "consented_at": func.now(),
            "updated_at": func.now(),
        },
    )
    await conn.execute(stmt)
    await resident_layers.refresh_resident(conn, user_id)


async def area_topics(conn: AsyncConnection, user_id: str) -> list[str] | None:
    """The resident's chosen topics, or None when no area is registered."""
    found = await conn.scalar(
        select(resident_areas.c.topics).where(resident_areas.c.user_id == user_id)
    )
    return None if found is None else list(found)


async def switch_topic(
    conn: AsyncConnection, user_id: str, code: str, on: bool
) -> list[str] | None:
    """Turn one topic on or off (idempotent: a stale button does no harm). Returns the
    topics now chosen, or None when no area is registered."""
    without = func.array_remove(resident_areas.c.topics, code)
    result = await conn.execute(
        update(resident_areas)
        .where(resident_areas.c.user_id == user_id)
        .values(topics=func.array_append(without, code) if on else without, updated_at=func.now())
        .returning(resident_areas.c.topics)
    )
    found = result.scalar_one_or_none()
    return None if found is None else list(found)


async def delete_area(conn: AsyncConnection, user_id: str) -> bool:
    """Withdraw consent: forget the spot and topics. False when nothing was registered."""
    result = await conn.execute(delete(resident_areas).where(resident_areas.c.user_id == user_id))
    return bool(result.rowcount)


async def respond(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    """The answer to an event about area registration or topics, else None."""
    action = turn.postback.get("area", [""])[0]
    switch = turn.postback.get("topics", [""])[0]
    if action == "start" or said(REGISTER, turn.text):
        await pending.set_pending(ctx.engine, turn.user_id, AREA)
        return [am.ask_location(turn.lang)]
    if turn.pending == AREA and turn.message.get("type") == "location":
        return await _ask_consent(ctx, turn)
    if action == "consent":
        return await _register(ctx, turn)
    if action == "decline":
        return [am.declined(turn.lang)]
    if action == "unregister" or said(UNREGISTER, turn.text):
        async with ctx.engine.begin() as conn:
            deleted = await delete_area(conn, turn.user_id)
        return [am.unregistered(turn.lang) if deleted else am.not_registered(turn.lang)]
    if switch in ("on", "off"):
        return await _switch(ctx, turn, switch == "on")
    if said(SETTINGS, turn.text):
        async with ctx.engine.connect() as conn:
            chosen = await area_topics(conn, turn.user_id)
        return [_menu_or_not_registered(ctx, turn, chosen)]
    return None


def _menu_or_not_registered(ctx: HandlerContext, turn: Turn, chosen: list[str] | None) -> Message:
    if chosen is None:
        return am.not_registered(turn.lang)
    return am.topics_menu(ctx.settings.alerts.topics, chosen, turn.lang)


async def _ask_consent(ctx: HandlerContext, turn: Turn) -> list[Message]:
    lon, lat = turn.location
    async with ctx.engine.connect() as conn:
        check = await nearby.service_area_check(conn, lon, lat)
    if not check.inside:
        return [am.outside(check.area_name, turn.lang)]
    return [am.consent(lon, lat, turn.lang)]


async def _register(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    try:
        lon, lat = turn.location
    except PayloadError:
        return None  # not a button of ours: answered by the caller's help text
    if turn.postback.get("v", [""])[0] != am.CONSENT_VERSION:
        # The button showed an older wording: ask again with the current one.
        return [am.consent(lon, lat, turn.lang)]
    topics = default_topics(ctx.settings.alerts)
    async with ctx.engine.begin() as conn:
        await save_area(conn, turn.user_id, lon, lat, topics)
        chosen = await area_topics(conn, turn.user_id)
    return [am.registered(turn.lang), _menu_or_not_registered(ctx, turn, chosen)]


async def _switch(ctx: HandlerContext, turn: Turn, on: bool) -> list[Message]:
    code = turn.postback.get("code", [""])[0]
    known = any(topic.code == code for topic in ctx.settings.alerts.topics)
    async with ctx.engine.begin() as conn:
        if known:
            chosen = await switch_topic(conn, turn.user_id, code, on)
        else:
            chosen = await area_topics(conn, turn.user_id)
    return [_menu_or_not_registered(ctx, turn, chosen)]
