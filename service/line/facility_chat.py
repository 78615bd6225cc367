"""Nearby facilities: "AED", "病院", "図書館", "区役所" … (or English) asks for a location and
answers with the nearest facilities of that kind; the location answer's "近くの施設" button
offers the kinds loaded, around the spot just sent.

Postbacks: `facility=menu&lat=..&lon=..` (the menu) and `facility=<category>&lat=..&lon=..`
(the answer). A word waits for the location as the pending request `facility:<category>`
(or `facility:menu`).
"""

from __future__ import annotations

from gis import nearby
from gis.facilities import FacilityCategory
from service.line import facility_messages as fm
from service.line import pending
from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.messages import Message

PENDING_PREFIX = "facility:"
MENU = "menu"
# Farther than this is no answer to "the nearest AED": about an hour on foot.
NEAR_METRES = 5000.0

# Texts (NFKC, lower case) that ask for a kind of facility; None asks for the menu.
WORDS: dict[str, FacilityCategory | None] = {
    **dict.fromkeys(("aed", "自動体外式除細動器"), FacilityCategory.AED),
    **dict.fromkeys(("病院", "hospital", "hospitals"), FacilityCategory.HOSPITAL),
    **dict.fromkeys(("診療所", "クリニック", "医院", "clinic", "clinics"), FacilityCategory.CLINIC),
    **dict.fromkeys(("図書館", "library", "libraries"), FacilityCategory.LIBRARY),
    **dict.fromkeys(
        ("区役所", "区民事務所", "市役所", "役所", "出張所", "ward office", "city hall"),
        FacilityCategory.WARD_OFFICE,
    ),
    **dict.fromkeys(
        ("区民センター", "公民館", "集会所", "community centre", "community center"),
        FacilityCategory.COMMUNITY_CENTRE,
    ),
    **dict.fromkeys(
        ("保健所", "保健センター", "健康福祉センター", "health centre", "health center"),
        FacilityCategory.HEALTH_CENTRE,
    ),
    **dict.fromkeys(
        ("児童館", "児童センター", "children's centre", "children's center"),
        FacilityCategory.CHILDREN,
    ),
    **dict.fromkeys(
        ("体育館", "スポーツセンター", "スポーツ施設", "gym", "sports centre", "sports center"),
        FacilityCategory.SPORTS,
    ),
    **dict.fromkeys(("公園", "park", "parks"), FacilityCategory.PARK),
    **dict.fromkeys(("近くの施設", "施設", "facilities", "nearby facilities"), None),
}


def _wanted(value: str) -> FacilityCategory | str:
    """A postback's or pending request's category, MENU, or "" when it names neither."""
    if value == MENU:
        return MENU
    try:
        return FacilityCategory(value)
    except ValueError:
        return ""


async def _loaded(ctx: HandlerContext) -> list[FacilityCategory]:
    async with ctx.engine.connect() as conn:
        return await nearby.loaded_facility_categories(conn)


async def _search(
    ctx: HandlerContext, wanted: FacilityCategory | str, lon: float, lat: float, turn: Turn
) -> list[Message]:
    """The menu or the answer around (lon, lat), or the honest text when nothing is loaded."""
    loaded = await _loaded(ctx)
    if not isinstance(wanted, FacilityCategory):
        return [fm.menu(loaded, lon, lat, turn.lang)] if loaded else fm.not_loaded(None, turn.lang)
    if wanted not in loaded:
        return fm.not_loaded(wanted, turn.lang)
    async with ctx.engine.connect() as conn:
        found = await nearby.nearest_facilities(
            conn, lon, lat, wanted, ctx.answer.nearest_facilities, within_metres=NEAR_METRES
        )
    return fm.answer(
        wanted,
        found,
        lon,
        lat,
        turn.lang,
        metres_per_minute=ctx.answer.walking_metres_per_minute,
        within_km=NEAR_METRES / 1000,
    )


async def respond(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    """The answer to a facility word, postback, or the location a facility search waits
    for; None for anything else."""
    action = turn.postback.get("facility", [""])[0]
    if action:
        wanted = _wanted(action)
        try:
            lon, lat = turn.location
        except (KeyError, ValueError):
            return None  # a malformed postback: the caller's help text answers it
        return await _search(ctx, wanted, lon, lat, turn) if wanted else None
    if turn.message.get("type") == "location" and (turn.pending or "").startswith(PENDING_PREFIX):
        wanted = _wanted((turn.pending or "").removeprefix(PENDING_PREFIX))
        lon, lat = turn.location
        return await _search(ctx, wanted, lon, lat, turn) if wanted else None
    if turn.text not in WORDS:
        return None
    category = WORDS[turn.text]
    loaded = await _loaded(ctx)
    # Say at once that there is nothing to find, rather than ask for a location first.
    if (category is None and not loaded) or (category is not None and category not in loaded):
        return fm.not_loaded(category, turn.lang)
    intent = MENU if category is None else str(category)
    await pending.set_pending(ctx.engine, turn.user_id, PENDING_PREFIX + intent)
    return fm.ask_location(category, turn.lang)
