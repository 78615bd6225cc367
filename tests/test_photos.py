"""Photo checks and cleaning, on images made here with Pillow (no binary fixtures)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from service.photos import (
    LocalPhotoStore,
    PhotoError,
    PhotoLimits,
    PhotoStore,
    ProcessedPhoto,
    process_photo,
)

CAMERA = "CivicTestCam"
XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/"
RED = (220, 20, 20)
BLUE = (20, 20, 220)
DEFAULT_LIMITS = PhotoLimits()


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _noise(size: tuple[int, int]) -> Image.Image:
    """A photo-like RGB image: noise does not compress away, so truncation hits pixel data."""
    return Image.merge("RGB", [Image.effect_noise(size, 60) for _ in range(3)])


def _gps_jpeg(image: Image.Image | None = None, orientation: int | None = None) -> bytes:
    """A JPEG as a phone writes it: camera make, GPS position, XMP packet, comment."""
    exif = Image.Exif()
    exif[0x010F] = CAMERA
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (35.0, 41.0, 22.5), 3: "E", 4: (139.0, 41.0, 30.2)})
    if orientation is not None:
        exif[0x0112] = orientation
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmp="'
        + XMP_NAMESPACE
        + b'" xmp:CreatorTool="'
        + CAMERA.encode()
        + b'"/></rdf:RDF></x:xmpmeta>'
    )
    image = image if image is not None else _noise((64, 48))
    return _encode(image, "JPEG", quality=95, exif=exif, xmp=xmp, comment=b"shot at home")


def _refusal(data: bytes, limits: PhotoLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(PhotoError) as error:
        process_photo(data, limits)
    assert str(error.value)  # the log line says what was wrong
    return error.value.reason


def _assert_clean_jpeg(data: bytes) -> Image.Image:
    assert b"Exif\x00\x00" not in data
    assert b"http://ns.adobe.com/xap" not in data
    assert CAMERA.encode() not in data
    assert b"shot at home" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert len(image.getexif()) == 0
    assert not {"exif", "xmp", "icc_profile", "comment"} & image.info.keys()
    return image


def test_phone_jpeg_loses_gps_camera_and_xmp_in_photo_and_thumbnail() -> None:
    original = _gps_jpeg()
    source = Image.open(io.BytesIO(original))
    # The input really carries what must go.
    assert source.getexif()[0x010F] == CAMERA
    assert source.getexif().get_ifd(0x8825)[1] == "N"
    assert {"exif", "xmp", "comment"} <= source.info.keys()
    assert XMP_NAMESPACE in original

    photo = process_photo(original)

    assert _assert_clean_jpeg(photo.image).size == (64, 48)
    _assert_clean_jpeg(photo.thumbnail)


def test_png_text_and_transparency_become_a_plain_jpeg_on_white() -> None:
    image = Image.new("RGBA", (60, 30), (*RED, 255))
    image.paste((0, 0, 0, 0), (30, 0, 60, 30))  # right half fully transparent
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "left the keys at Sakura-cho 3-2")
    data = _encode(image, "PNG", pnginfo=info)
    assert Image.open(io.BytesIO(data)).info["Comment"].startswith("left the keys")

    photo = process_photo(data)

    out = _assert_clean_jpeg(photo.image)
    assert b"Sakura-cho" not in photo.image
    assert "Comment" not in out.info
    left, right = out.getpixel((10, 15)), out.getpixel((50, 15))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[0] > 180 and left[1] < 60  # still red
    assert min(right) > 240  # transparency is white, not black


def test_exif_orientation_makes_the_photo_stand_upright() -> None:
    # Stored sideways: the left half (red) is the top of the scene.
    sideways = Image.new("RGB", (40, 20), BLUE)
    sideways.paste(RED, (0, 0, 20, 20))

    photo = process_photo(_gps_jpeg(sideways, orientation=6))

    out = _assert_clean_jpeg(photo.image)
    assert (photo.width, photo.height) == out.size == (20, 40)
    top, bottom = out.getpixel((10, 5)), out.getpixel((10, 35))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 180 and top[2] < 80
    assert bottom[2] > 180 and bottom[0] < 80


def test_large_photo_is_resized_and_thumbnailed() -> None:
    photo = process_photo(_encode(_noise((4000, 3000)), "JPEG"))

    assert (photo.width, photo.height) == (2048, 1536)
    assert Image.open(io.BytesIO(photo.image)).size == (2048, 1536)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (320, 240)


def test_small_photo_is_not_upscaled() -> None:
    photo = process_photo(_encode(_noise((300, 200)), "PNG"))

    assert (photo.width, photo.height) == (300, 200)
    assert Image.open(io.BytesIO(photo.image)).size == (300, 200)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (300, 200)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("WEBP", {}),
        ("GIF", {}),
        ("MPO", {"save_all": True, "append_images": [Image.new("RGB", (80, 60), BLUE)]}),
    ],
)
def test_other_phone_formats_come_out_as_jpeg(fmt: str, options: dict[str, object]) -> None:
    data = _encode(Image.new("RGB", (80, 60), RED), fmt, **options)
    assert Image.open(io.BytesIO(data)).format == fmt

    out = _assert_clean_jpeg(process_photo(data).image)

    assert out.size == (80, 60)


def test_truncated_jpeg_is_corrupt() -> None:
    data = _encode(_noise((200, 150)), "JPEG")
    assert _refusal(data[: len(data) // 2]) == "corrupt"


def test_text_named_like_a_photo_is_not_an_image() -> None:
    # Only the bytes count: what a resident calls "photo.jpg" may be anything.
    assert _refusal(b"Dear city office,\nthe road in front of photo.jpg is broken.\n") == (
        "not_an_image"
    )
    assert _refusal(b"") == "not_an_image"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_real_images_in_other_formats_are_unsupported(fmt: str) -> None:
    assert _refusal(_encode(Image.new("RGB", (10, 10), RED), fmt)) == "unsupported"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width x height 1-bit pixels, with an IDAT far too short for them.

    Decoding it would fail as "corrupt", so "too_many_pixels" shows the header was refused
    before any pixel was touched.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "side",
    [
        8_000,  # 64 Mpx: over our 40 Mpx limit, under Pillow's own
        30_000,  # 900 Mpx: Pillow's DecompressionBombError fires while opening
    ],
)
def test_decompression_bomb_is_refused_from_its_header(side: int) -> None:
    bomb = _png_header_only(side, side)
    assert len(bomb) < 200

    started = time.monotonic()
    assert _refusal(bomb) == "too_many_pixels"
    assert time.monotonic() - started < 2  # a sanity bound: nothing was allocated or decoded


def test_pillow_bomb_warning_never_lets_an_image_through() -> None:
    # Our limit set above Pillow's: 100 Mpx is where Pillow only warns, and we still refuse.
    assert Image.MAX_IMAGE_PIXELS is not None
    limits = PhotoLimits(max_pixels=2 * Image.MAX_IMAGE_PIXELS)
    with pytest.warns(Image.DecompressionBombWarning):
        assert _refusal(_png_header_only(10_000, 10_000), limits) == "too_many_pixels"


def test_too_many_pixels_by_our_own_limit() -> None:
    data = _encode(_noise((100, 100)), "PNG")
    assert _refusal(data, PhotoLimits(max_pixels=100 * 100 - 1)) == "too_many_pixels"
    assert process_photo(data, PhotoLimits(max_pixels=100 * 100)).width == 100


def test_oversized_upload_is_refused_before_decoding() -> None:
    limits = PhotoLimits(max_bytes=1_000)
    assert _refusal(b"\x00" * 1_001, limits) == "too_large"  # not even looked at
    assert _refusal(_encode(_noise((100, 100)), "JPEG"), limits) == "too_large"


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_side"):
        PhotoLimits(max_side=0)


def test_key_is_the_content_address_and_is_stable() -> None:
    data = _gps_jpeg()
    first, second = process_photo(data), process_photo(data)

    assert first.key == second.key
    assert first.image == second.image
    assert first.key == hashlib.sha256(first.image).hexdigest()
    other = process_photo(_gps_jpeg(_noise((64, 48))))
    assert other.key != first.key


def _stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_local_store_round_trip(tmp_path: Path) -> None:
    store: PhotoStore = LocalPhotoStore(tmp_path)
    photo = process_photo(_gps_jpeg())
    key = photo.key
    assert not store.exists(key)

    store.put(photo)

    assert store.exists(key)
    assert store.get(key) == photo.image
    assert store.get(key, thumbnail=True) == photo.thumbnail
    shard = f"{key[:2]}/{key[2:4]}"
    assert _stored_files(tmp_path) == [f"{shard}/{key}.jpg", f"{shard}/{key}.thumb.jpg"]


def test_local_store_put_is_idempotent_and_refreshes_the_time(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    photo = process_photo(_gps_jpeg())
    store.put(photo)
    full = tmp_path / photo.key[:2] / photo.key[2:4] / f"{photo.key}.jpg"
    os.utime(full, (1_000_000_000, 1_000_000_000))  # stored long ago
    before = full.stat()

    store.put(photo)

    after = full.stat()
    assert after.st_ino == before.st_ino and full.read_bytes() == photo.image
    # Stored again: as young as a new photo, so no sweep takes it for an old orphan.
    assert after.st_mtime > before.st_mtime
    assert [p.key for p in store.stored()] == [photo.key]
    assert len(_stored_files(tmp_path)) == 2  # no stray temporary files
    store.delete(photo.key)
    assert _stored_files(tmp_path) == [] and store.stored_at(photo.key) is None


def test_local_store_missing_key(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(KeyError):
        store.get(missing)
    with pytest.raises(KeyError):
        store.get(missing, thumbnail=True)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "ab/cd/../../../../etc/passwd" + "0" * 40,
        "A" * 64,  # uppercase
        "a" * 63,  # short
        "a" * 65,
        "a" * 64 + "\n",
        "g" * 64,
        "",
    ],
)
def test_local_store_refuses_malformed_keys(tmp_path: Path, key: str) -> None:
    store = LocalPhotoStore(tmp_path)
    with pytest.raises(ValueError, match="not a photo key"):
        store.get(key)
    with pytest.raises(ValueError, match="not a photo key"):
        store.exists(key)
    photo = process_photo(_gps_jpeg())
    with pytest.raises(ValueError, match="not a photo key"):
        store.put(ProcessedPhoto(key, photo.image, photo.thumbnail, photo.width, photo.height))
    assert _stored_files(tmp_path) == []


def test_local_store_refuses_a_key_that_is_not_the_hash(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    photo = process_photo(_gps_jpeg())
    forged = ProcessedPhoto("f" * 64, photo.image, photo.thumbnail, photo.width, photo.height)
    with pytest.raises(ValueError, match="SHA-256"):
        store.put(forged)
    assert _stored_files(tmp_path) == []
