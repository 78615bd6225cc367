"""Identifiers in LINE's formats: webhook event IDs (ULIDs), message IDs, quote tokens."""

from __future__ import annotations

import secrets
import time
from typing import Final

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID (26 Crockford base32 chars, time-ordered), as LINE's ``webhookEventId``."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def message_id() -> str:
    """A message ID as LINE makes them."""
    return str(10**17 + secrets.randbelow(9 * 10**17))  # LINE: numeric, 18 digits


def quote_token() -> str:
    """A quote token (LINE gives one with each text, sticker, image… it accepts or sends)."""
    return secrets.token_urlsafe(48)
