"""`civic sandbox`: play a resident against a running sandbox."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer

from service.cli.common import (
    fail,
)

app = typer.Typer(help="Play a resident against a running sandbox (`civic dev`).")


@app.command("say")
def sandbox_say(
    text: Annotated[str | None, typer.Argument(help="A text message")] = None,
    lat: Annotated[float | None, typer.Option(help="Send a location: latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="Send a location: longitude")] = None,
    language: Annotated[str, typer.Option(help="The resident's LINE language")] = "ja",
    url: Annotated[str, typer.Option(help="The running app")] = "http://127.0.0.1:8000",
) -> None:
    """Send a text or a location as a resident and print the bot's answer."""
    payload: dict[str, object] = {"language": language}
    if lat is not None and lon is not None:
        payload |= {"latitude": lat, "longitude": lon}
    else:
        payload["text"] = text or "避難所"
    response = httpx.post(f"{url}/sandbox/say", json=payload, timeout=30, trust_env=False)
    if response.status_code != 200:
        raise fail(RuntimeError(f"{response.status_code}: {response.text}"))
    for answer in response.json()["answers"]:
        for message in answer["messages"]:
            if message["type"] == "text":
                typer.echo(message["text"])
            else:
                typer.echo(json.dumps(message, ensure_ascii=False, indent=1))
        typer.echo("")
