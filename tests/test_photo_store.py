"""Photos in an S3-compatible object store (PHOTO_STORE=s3://bucket/prefix), against a real
SeaweedFS server on loopback: the store itself, the running service keeping a resident's
photo there and serving it to crews, `civic reports forget` removing unreferenced ones, and
`civic photos migrate` moving a folder store into a bucket. The photos are synthetic."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.app import create_app
from service.photo_stores import S3PhotoStore, photo_store_at
from service.photos import LocalPhotoStore, PhotoFiles, process_photo
from service.sandbox import LinePlatformStandIn
from service.settings import DataSettings, ObjectStoreSettings
from tests.utils.app import RunningApp, make_settings
from tests.utils.cli import civic
from tests.utils.crew import Browser, logged_in
from tests.utils.database import db, in_transaction
from tests.utils.objectstore import ObjectStore
from tests.utils.photos import jpeg
from tests.utils.resident import Resident, report_from_text
from tests.utils.servers import serve

RESIDENT = "U" + "f6" * 16


def _photo(seed: int) -> PhotoFiles:
    """A processed synthetic photo, different for each seed."""
    return process_photo(jpeg(size=(320 + seed, 240)))


def _store(object_store: ObjectStore) -> S3PhotoStore:
    store = photo_store_at(object_store.new_location(), object_store.settings())
    assert isinstance(store, S3PhotoStore)
    return store


def test_the_bucket_store_keeps_photos_like_the_folder_store(object_store: ObjectStore) -> None:
    store = _store(object_store)
    photo = _photo(1)
    assert not store.exists(photo.key) and store.stored_at(photo.key) is None
    with pytest.raises(KeyError):
        store.get(photo.key)
    store.put(photo)
    assert store.exists(photo.key)
    assert store.get(photo.key) == photo.image
    assert store.get(photo.key, thumbnail=True) == photo.thumbnail
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    names = [item["Key"] for item in listed["Contents"]]
    shard = f"{store.prefix}{photo.key[:2]}/{photo.key[2:4]}/{photo.key}"
    assert sorted(names) == [f"{shard}.jpg", f"{shard}.thumb.jpg"]
    first = store.stored_at(photo.key)
    # Objects that are not photos of ours, under the prefix, are none of the store's.
    store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}notes.jpg", Body=b"x")
    assert [p.key for p in store.stored()] == [photo.key]
    time.sleep(1.1)
    store.put(photo)  # stored again: same bytes, a fresh time
    again = store.stored_at(photo.key)
    assert first is not None and again is not None and again > first
    with pytest.raises(ValueError, match="SHA-256"):
        store.put(PhotoFiles("f" * 64, photo.image, photo.thumbnail))
    with pytest.raises(ValueError, match="not a photo key"):
        store.get("../../etc/passwd")
    store.delete(photo.key)
    store.delete(photo.key)  # absent: no error
    assert not store.exists(photo.key) and list(store.stored()) == []
    assert store.client.get_object(Bucket=store.bucket, Key=f"{store.prefix}notes.jpg")


def test_wrong_credentials_are_refused(object_store: ObjectStore) -> None:
    wrong = ObjectStoreSettings(
        AWS_ENDPOINT_URL=object_store.endpoint_url,
        AWS_ACCESS_KEY_ID=object_store.access_key_id,
        AWS_SECRET_ACCESS_KEY=SecretStr("not-the-secret"),
        AWS_REGION="us-east-1",
    )
    store = photo_store_at(object_store.new_location(), wrong)
    with pytest.raises(ClientError, match=r"SignatureDoesNotMatch|AccessDenied"):
        store.put(_photo(2))


def test_a_residents_photo_is_kept_in_the_bucket_and_served_to_crews(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
    object_store: ObjectStore,
    tmp_path: Path,
) -> None:
    store = _store(object_store)
    data = DataSettings(PHOTO_DIR=tmp_path / "unused", PHOTO_STORE=store.location)
    settings = make_settings(
        kita_url, standin_server[1], data=data, objects=object_store.settings()
    )
    with serve(create_app(settings)) as url:
        served = RunningApp(url, settings)
        resident = Resident(served, standin, RESIDENT, "ja")
        report_from_text(resident, photo=jpeg())
        (row,) = db(
            served,
            "SELECT r.cluster_id, p.photo_key FROM report_photos p "
            "JOIN reports r ON r.id = p.report_id",
        )
        assert store.exists(row.photo_key)
        assert not (tmp_path / "unused").exists()
        crew = logged_in(served, Browser(url))
        full = crew.get(f"/crew/clusters/{row.cluster_id}/photos/{row.photo_key}")
        assert (full.status_code, full.headers["cache-control"]) == (200, "no-store")
        assert full.content == store.get(row.photo_key)
        thumb = crew.get(f"/crew/clusters/{row.cluster_id}/thumbnail")
        assert thumb.content == store.get(row.photo_key, thumbnail=True)
        crew.client.close()


def test_forget_removes_the_photos_no_report_holds_from_the_bucket(
    empty_url: str, object_store: ObjectStore
) -> None:
    store = _store(object_store)
    kept, orphan = _photo(3), _photo(4)
    store.put(kept)
    store.put(orphan)

    async def file(conn: AsyncConnection) -> None:
        new = reports.NewReport(category="road", lon=139.7362, lat=35.7584, photo_keys=[kept.key])
        await reports.submit_report(conn, new, 30)

    in_transaction(empty_url, file)
    time.sleep(1.5)  # older than the drafts' lifetime below
    env = {
        "PHOTO_STORE": store.location,
        "REPORT_DRAFT_MINUTES": "0.02",
        **object_store.environment(),
    }
    forgot = civic(empty_url, "reports", "forget", env=env)
    assert forgot.returncode == 0, forgot.stderr
    assert f"removed 1 photos no report holds from {store.location}" in forgot.stdout
    assert store.exists(kept.key) and not store.exists(orphan.key)


def test_civic_photos_migrate_copies_a_folder_into_a_bucket_and_checks_every_object(
    empty_url: str, object_store: ObjectStore, tmp_path: Path
) -> None:
    folder = LocalPhotoStore(tmp_path / "photos")
    photos = [_photo(n) for n in range(5, 8)]
    for photo in photos:
        folder.put(photo)
    store = _store(object_store)
    env = {"PHOTO_DIR": str(folder.root), **object_store.environment()}
    args = ("photos", "migrate", "--to", store.location)

    first = civic(empty_url, *args, env=env)
    assert first.returncode == 0, first.stderr
    assert "3 copied, 0 already there, 0 replaced (they differed), 3 checked: all match" in (
        first.stdout
    )
    for photo in photos:
        assert store.get(photo.key) == photo.image
        assert store.get(photo.key, thumbnail=True) == photo.thumbnail

    # A damaged object in the bucket (an interrupted copy) is found and copied again.
    damaged = store._name(photos[0].key, thumbnail=True)
    store.client.put_object(Bucket=store.bucket, Key=damaged, Body=b"half a jpeg")
    again = civic(empty_url, *args, env=env)
    assert again.returncode == 0, again.stderr
    assert "0 copied, 2 already there, 1 replaced (they differed), 3 checked: all match" in (
        again.stdout
    )
    assert store.get(photos[0].key, thumbnail=True) == photos[0].thumbnail

    # A damaged file in the folder is not copied, and says so.
    bad = folder._path(photos[1].key, thumbnail=False)
    bad.write_bytes(b"not the photo any more")
    refused = civic(empty_url, *args, env=env)
    assert refused.returncode == 1
    assert f"damaged, not copied: {photos[1].key}" in refused.stderr
