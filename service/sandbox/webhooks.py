"""The webhook side of LINE: signed request bodies posted to the app, as LINE posts them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import httpx

#: The bot user ID that webhook bodies name as their destination (U + 32 hex, as LINE has it).
SANDBOX_BOT_ID: Final[str] = "U" + "0" * 32


def sign(channel_secret: str, body: bytes) -> str:
    """The ``X-Line-Signature`` of ``body``: base64 of HMAC-SHA256 keyed by the secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_body(events: Sequence[Mapping[str, Any]], destination: str = SANDBOX_BOT_ID) -> bytes:
    """The raw webhook request body LINE would post for ``events``."""
    payload = {"destination": destination, "events": [dict(e) for e in events]}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookSender:
    """Posts signed webhook bodies to the app, over real HTTP, the way LINE does."""

    def __init__(
        self,
        webhook_url: str,
        channel_secret: str,
        *,
        destination: str = SANDBOX_BOT_ID,
        timeout: float = 10.0,
    ) -> None:
        """Send to ``webhook_url``, signing with ``channel_secret``."""
        self.webhook_url = webhook_url
        self.channel_secret = channel_secret
        self.destination = destination
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        self._client = httpx.Client(trust_env=False, timeout=timeout)

    def send(self, events: Sequence[Mapping[str, Any]]) -> httpx.Response:
        """Post ``events`` (an empty list is the console's verify request)."""
        return self.send_body(webhook_body(events, self.destination))

    def send_body(self, body: bytes, signature: str | None = None) -> httpx.Response:
        """Post a raw body; ``signature`` overrides the computed one, ``""`` omits the header."""
        headers = {"Content-Type": "application/json", "User-Agent": "LineBotWebhook/2.0"}
        sig = sign(self.channel_secret, body) if signature is None else signature
        if sig:
            headers["X-Line-Signature"] = sig
        return self._client.post(self.webhook_url, content=body, headers=headers)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
