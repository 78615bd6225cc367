"""`civic photos`: where report photos are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from service.cli.common import fail, load_settings
from service.photo_stores import copy_photos, photo_store_at
from service.photos import LocalPhotoStore
from service.settings import bucket_of

app = typer.Typer(help="Report photos: where they are kept.")


@app.command("migrate")
def photos_migrate(
    source: Annotated[
        Path | None, typer.Option("--from", help="The folder store (default PHOTO_DIR)")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--to", help="s3://bucket/prefix (default PHOTO_STORE)")
    ] = None,
) -> None:
    """Copy every photo of a folder store into a bucket, then read each back and compare it.
    Safe to run again: photos already there are only checked."""
    settings = load_settings()
    folder = LocalPhotoStore(source or settings.data.photo_dir)
    location = target or settings.data.photo_store or ""
    if bucket_of(location) is None:
        raise fail(ValueError("give --to s3://bucket/prefix, or set PHOTO_STORE to one"))
    if not folder.root.is_dir():
        raise fail(ValueError(f"{folder.root} is no folder"))
    bucket = photo_store_at(location, settings.objects)
    try:
        done = copy_photos(folder, bucket)
    except (BotoCoreError, ClientError) as exc:
        raise fail(RuntimeError(f"{location}: {exc}")) from exc
    typer.echo(f"{folder.root} -> {location}: {done.summary()}")
    for key in done.damaged:
        typer.echo(f"  damaged, not copied: {key} (its bytes are not its name's)", err=True)
    for key in done.mismatched:
        typer.echo(f"  differs after copying: {key}", err=True)
    if done.damaged or done.mismatched:
        raise typer.Exit(1)
