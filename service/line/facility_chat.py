"""Nearby facilities: "AED", "病院", "図書館", "区役所" … (or English) asks for a location and
answers with the nearest facilities of that kind; the location answer's "近くの施設" button
offers the kinds loaded, around the spot just sent.

Postbacks: `facility=menu&lat=..&lon=..` (the menu) and `facility=<category>&lat=..&lon=..`
(the answer). A word waits for the location as the pending request `facility:<category>`
(or `facility:menu`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from gis import nearby
from gis.facilities import FacilityCategory
from service.line import facility_messages as fm
from service.line import pending
from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.messages import Message
from service.line.payload import PayloadError
from service.vocabulary import LANGUAGES, Lang, Phrase, label
from service.vocabulary.commands import normalise, said

PENDING_PREFIX = "facility:"
MENU = "menu"
# Farther than this is no answer to "the nearest AED": about an hour on foot.
NEAR_METRES = 5000.0

# What residents type to ask for a kind of facility (None: the menu of the kinds loaded),
# beside the kind's own label in any language. Translators: the words of each, separated
# by |.
WORDS: Mapping[FacilityCategory | None, Phrase] = {
    FacilityCategory.AED: Phrase("words", "aed|defibrillator"),
    FacilityCategory.HOSPITAL: Phrase("words", "hospital|hospitals"),
    FacilityCategory.CLINIC: Phrase("words", "clinic|clinics|doctor"),
    FacilityCategory.LIBRARY: Phrase("words", "library|libraries"),
    FacilityCategory.WARD_OFFICE: Phrase("words", "ward office|city hall"),
    FacilityCategory.COMMUNITY_CENTRE: Phrase("words", "community centre|community center"),
    FacilityCategory.HEALTH_CENTRE: Phrase("words", "health centre|health center"),
    FacilityCategory.CHILDREN: Phrase("words", "children's centre|children's center"),
    FacilityCategory.SPORTS: Phrase("words", "gym|sports centre|sports center"),
    FacilityCategory.PARK: Phrase("words", "park|parks"),
    None: Phrase("words", "facilities|nearby facilities"),
}


@cache
def _labels() -> dict[str, FacilityCategory]:
    """Every kind's label in every language, normalised."""
    return {
        normalise(label(kind, each.code)): kind for kind in FacilityCategory for each in LANGUAGES
    }


def asked_for(text: str, lang: Lang) -> FacilityCategory | str:
    """The kind of facility a text asks for, MENU for the menu, or "" for neither. The
    resident's own language decides first: 医院 is a clinic in Japanese, a hospital in
    Chinese."""
    for in_language in (lang, None):
        for category, words in WORDS.items():
            if said(words, text, in_language):
                return MENU if category is None else category
    return _labels().get(normalise(text), "")


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
        return (await nearby.loaded_data(conn)).facility_categories


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
        except PayloadError:
            return None  # a malformed postback: the caller's help text answers it
        return await _search(ctx, wanted, lon, lat, turn) if wanted else None
    if turn.message.get("type") == "location" and (turn.pending or "").startswith(PENDING_PREFIX):
        wanted = _wanted((turn.pending or "").removeprefix(PENDING_PREFIX))
        lon, lat = turn.location
        return await _search(ctx, wanted, lon, lat, turn) if wanted else None
    asked = asked_for(turn.text, turn.lang)
    if not asked:
        return None
    category = asked if isinstance(asked, FacilityCategory) else None
    loaded = await _loaded(ctx)
    # Say at once that there is nothing to find, rather than ask for a location first.
    if (category is None and not loaded) or (category is not None and category not in loaded):
        return fm.not_loaded(category, turn.lang)
    await pending.set_pending(ctx.engine, turn.user_id, PENDING_PREFIX + str(asked))
    return fm.ask_location(category, turn.lang)
