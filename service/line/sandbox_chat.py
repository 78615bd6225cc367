"""Trying the bot without LINE (sandbox mode only): play a resident, see the bot's answer.

`POST /sandbox/say` builds the event LINE would send, signs it with the sandbox channel
secret and posts it to the app's own webhook over HTTP, so the whole real path runs
(signature, inbox, worker, handler, platform client); it then returns what the stand-in
delivered to that resident.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field, model_validator

from service.deps import AppSettings
from service.line import sandbox
from service.line.sandbox import LinePlatformStandIn

router = APIRouter(prefix="/sandbox")


class Say(BaseModel):
    """One thing the pretend resident sends: a text or a location."""

    user_id: str = Field(default="U" + "0" * 31 + "1", pattern=r"^U[0-9a-f]{32}$")
    language: str = "ja"
    text: str | None = Field(default=None, max_length=5000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    timeout: float = Field(default=10.0, gt=0, le=30)

    @model_validator(mode="after")
    def _one_thing(self) -> Say:
        has_location = self.latitude is not None and self.longitude is not None
        if (self.text is None) == (not has_location):
            raise ValueError("send either text, or latitude and longitude")
        return self


@router.post("/say")
async def say(request: Request, said: Say, settings: AppSettings) -> dict[str, Any]:
    """Send as a resident and return the messages the bot delivered in answer."""
    standin: LinePlatformStandIn = request.app.state.standin
    if not standin.known_user(said.user_id):
        standin.add_user(said.user_id, display_name="Sandbox", language=said.language)
    before = len(standin.delivered(said.user_id))
    if said.text is not None:
        event = sandbox.text_event(standin, said.user_id, said.text)
    else:
        assert said.latitude is not None and said.longitude is not None  # noqa: S101
        event = sandbox.location_event(standin, said.user_id, said.latitude, said.longitude)
    body = sandbox.webhook_body([event])
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            settings.server.base_url + "/line/webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Line-Signature": sandbox.sign(settings.line.secret, body),
            },
        )
    response.raise_for_status()
    try:
        delivered = await asyncio.to_thread(
            standin.wait_for_deliveries, before + 1, said.user_id, said.timeout
        )
    except TimeoutError as exc:
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, "the bot did not answer") from exc
    return {"event": event, "answers": [asdict(d) for d in delivered[before:]]}
