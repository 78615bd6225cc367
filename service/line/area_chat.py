"""PLACEHOLDER"""

from __future__ import annotations

from service.line.context import HandlerContext
from service.line.conversation import Turn
from service.line.messages import Message


async def respond(ctx: HandlerContext, turn: Turn) -> list[Message] | None:
    """PLACEHOLDER"""
    return None
