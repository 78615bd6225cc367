"""Choosing a language in the chat: 言語 / Language / 语言 / 언어 / Ngôn ngữ (or the help's
button) offers every language the bot speaks, each in its own name; the choice is kept on
`line_users.language`, where replies and pushes (the outbox renders at send time) take it
from. Until a resident chooses, that is the language of their LINE profile.

Postbacks: `lang=menu` (the menu) and `lang=<code>` (the choice).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from service.line import language_messages as lm
from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.messages import Message
from service.tables import line_users
from service.vocabulary import Phrase, language
from service.vocabulary.commands import said

MENU = "menu"
# Translators: words a resident types to choose the bot's language, separated by |. Keep
# "language": residents who do not read this language type it.
WORDS = Phrase("words", "language|languages")


async def set_language(ctx: HandlerContext, user_id: str, code: str) -> None:
    """Keep `code` as the resident's language, for replies and pushes alike."""
    stmt = insert(line_users).values(user_id=user_id, language=code)
    stmt = stmt.on_conflict_do_update(
        index_elements=[line_users.c.user_id],
        set_={"language": code, "updated_at": func.now()},
    )
    async with ctx.engine.begin() as conn:
        await conn.execute(stmt)


async def respond(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    """The answer to the language words or postbacks, else None."""
    wanted = turn.postback.get("lang", [""])[0]
    if wanted == MENU or (not wanted and said(WORDS, turn.text)):
        return [lm.menu(turn.lang)]
    if not wanted:
        return None
    try:
        code = language(wanted).code
    except ValueError:
        return None  # not a button of ours: answered by the caller's help text
    await set_language(ctx, turn.user_id, code)
    return [lm.chosen(code)]
