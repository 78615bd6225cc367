"""Where photos are kept: the folder store (service/photos.py) or an S3-compatible bucket.

`PHOTO_STORE=s3://bucket/prefix` keeps every photo as `prefix/ab/cd/<key>.jpg` and
`<key>.thumb.jpg` in the bucket (the folder store's layout), through boto3, the AWS SDK,
with the endpoint and credentials of the standard AWS variables: a city on a cloud, or
SeaweedFS/MinIO on its own servers. Every web and worker process then shares the photos.
The calls block: async callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from service.photos import (
    LocalPhotoStore,
    PhotoFiles,
    PhotoStore,
    StoredPhoto,
    check_photo_files,
    check_photo_key,
)
from service.settings import DataSettings, ObjectStoreSettings, bucket_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code", "") in _NOT_FOUND


class S3PhotoStore:
    """A `PhotoStore` in an S3 bucket, under `prefix`."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        """Keep photos in `bucket` (which must exist) under `prefix` ("" for its root)."""
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    @property
    def location(self) -> str:
        """s3://bucket/prefix."""
        return f"s3://{self.bucket}/{self.prefix}"

    def _name(self, key: str, *, thumbnail: bool) -> str:
        check_photo_key(key)
        suffix = ".thumb.jpg" if thumbnail else ".jpg"
        return f"{self.prefix}{key[:2]}/{key[2:4]}/{key}{suffix}"

    def put(self, photo: PhotoFiles) -> None:
        """Upload the thumbnail, then the photo (again when present: its time is refreshed
        and the bytes are the same); ValueError if the key is not the hash."""
        check_photo_files(photo)
        for thumbnail, data in ((True, photo.thumbnail), (False, photo.image)):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._name(photo.key, thumbnail=thumbnail),
                Body=data,
                ContentType="image/jpeg",
            )

    def get(self, key: str, *, thumbnail: bool = False) -> bytes:
        """The stored JPEG bytes; KeyError if not stored, ValueError if the key is malformed."""
        try:
            found = self.client.get_object(
                Bucket=self.bucket, Key=self._name(key, thumbnail=thumbnail)
            )
        except ClientError as exc:
            if _missing(exc):
                raise KeyError(key) from None
            raise
        return found["Body"].read()

    def exists(self, key: str) -> bool:
        """Whether the photo is stored."""
        return self.stored_at(key) is not None

    def stored(self) -> Iterator[StoredPhoto]:
        """Every photo under the prefix, with its object's time."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = Path(item["Key"]).name.removesuffix(".jpg")
                # Only our own objects: other names under the prefix are not photos.
                with suppress(ValueError):
                    if item["Key"] == self._name(key, thumbnail=False):
                        yield StoredPhoto(key, item["LastModified"])

    def stored_at(self, key: str) -> datetime | None:
        """When the photo's object was written last; None if it is not stored."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key, thumbnail=False))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return head["LastModified"]

    def delete(self, key: str) -> None:
        """Remove the photo, then its thumbnail."""
        for thumbnail in (False, True):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key, thumbnail=thumbnail))


def s3_client(settings: ObjectStoreSettings) -> S3Client:
    """A client of the object store the AWS variables name (boto3's own chain for the
    ones unset)."""
    secret = settings.secret_access_key
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        # Buckets by path (endpoint/bucket/…): a self-hosted store has no DNS per bucket.
        s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        region_name=settings.region,
        config=config,
    )


def photo_store_at(location: str, objects: ObjectStoreSettings) -> PhotoStore:
    """The store at `location`: s3://bucket/prefix, or a folder."""
    bucket = bucket_of(location)
    if bucket is not None:
        return S3PhotoStore(s3_client(objects), *bucket)
    return LocalPhotoStore(Path(location))


def open_photo_store(data: DataSettings, objects: ObjectStoreSettings) -> PhotoStore:
    """The configured store: PHOTO_STORE, or the folder PHOTO_DIR."""
    return photo_store_at(data.photo_location, objects)


@dataclass
class Copied:
    """What `copy_photos` did: photos copied, found there already, found different and
    copied again, checked after copying, and the keys that failed."""

    copied: int = 0
    present: int = 0
    replaced: int = 0
    checked: int = 0
    # A source file whose bytes are not its key's (damaged): not copied.
    damaged: list[str] = field(default_factory=list)
    # An object that still differs from the source after copying.
    mismatched: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"{self.copied} copied, {self.present} already there, {self.replaced} replaced "
            f"(they differed), {self.checked} checked: "
            + ("all match" if not self.mismatched else f"{len(self.mismatched)} differ")
        )


def copy_photos(source: PhotoStore, target: PhotoStore) -> Copied:
    """Copy every photo of `source` into `target`, skipping those already there with the
    same bytes, then read every one back from `target` and compare it with `source`. Safe
    to run again (after an interruption, or to check)."""
    done = Copied()
    keys = []
    for photo in source.stored():
        image = source.get(photo.key)
        thumbnail = source.get(photo.key, thumbnail=True)
        if hashlib.sha256(image).hexdigest() != photo.key:
            done.damaged.append(photo.key)
            continue
        keys.append(photo.key)
        if target.exists(photo.key):
            same = target.get(photo.key) == image
            if same and target.get(photo.key, thumbnail=True) == thumbnail:
                done.present += 1
                continue
            done.replaced += 1
        else:
            done.copied += 1
        target.put(PhotoFiles(photo.key, image, thumbnail))
    for key in keys:
        same = target.get(key) == source.get(key)
        if same and target.get(key, thumbnail=True) == source.get(key, thumbnail=True):
            done.checked += 1
        else:
            done.mismatched.append(key)
    return done
