"""Sandbox mode and the tests' LINE: a stand-in of the LINE platform and the user's side.

Tooling, not product: `create_app` imports this package only in sandbox mode (no LINE
credentials), and the tests use it directly. Its modules:

- `standin`: the stand-in of the Messaging API (state, LINE's rules, the record) and its
  HTTP app, which the real line-bot-sdk client talks to;
- `validation`: LINE's rules for outgoing messages, as LINE's server applies them;
- `events`: webhook events as LINE sends them; `webhooks`: signing and posting them;
- `ids`: identifiers in LINE's formats;
- `chat`: the browser chat page (`/sandbox`), with its own templates and static files.

The names below are the stand-in's public API, importable from the package.
"""

from service.sandbox.events import (
    follow_event,
    image_event,
    location_event,
    postback_event,
    redelivered,
    text_event,
    unfollow_event,
)
from service.sandbox.standin import (
    ENDPOINTS,
    Delivery,
    LinePlatformStandIn,
    RecordedCall,
    create_standin_app,
)
from service.sandbox.validation import message_errors
from service.sandbox.webhooks import WebhookSender, sign, webhook_body

__all__ = [
    "ENDPOINTS",
    "Delivery",
    "LinePlatformStandIn",
    "RecordedCall",
    "WebhookSender",
    "create_standin_app",
    "follow_event",
    "image_event",
    "location_event",
    "message_errors",
    "postback_event",
    "redelivered",
    "sign",
    "text_event",
    "unfollow_event",
    "webhook_body",
]
