"""Photo checks and cleaning, on images made here with Pillow (no binary fixtures)."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from service.photos import LocalPhotoStore, PhotoError, PhotoLimits, process_photo


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _gps_jpeg(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (35.0, 45.0, 30.0), 3: "E", 4: (139.0, 44.0, 10.0)}
    if orientation:
        exif[0x0112] = orientation
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/"/></x:xmpmeta>'
    return _encode(Image.new("RGB", size, (200, 30, 30)), "JPEG", exif=exif, xmp=xmp)


def _no_metadata(data: bytes) -> None:
    assert b"Exif\x00\x00" not in data
    assert b"PhoneMaker" not in data
    assert b"ns.adobe.com/xap" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)


def test_gps_exif_and_xmp_are_stripped_from_photo_and_thumbnail() -> None:
    original = _gps_jpeg()
    assert b"Exif\x00\x00" in original and b"ns.adobe.com/xap" in original
    photo = process_photo(original)
    _no_metadata(photo.image)
    _no_metadata(photo.thumbnail)


def test_png_text_and_transparency_become_plain_rgb_jpeg() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret location")
    data = _encode(Image.new("RGBA", (30, 30), (0, 0, 0, 0)), "PNG", pnginfo=info)
    photo = process_photo(data)
    _no_metadata(photo.image)
    image = Image.open(io.BytesIO(photo.image))
    assert image.mode == "RGB"
    assert image.getpixel((15, 15)) == pytest.approx((255, 255, 255), abs=2)  # type: ignore[arg-type]


def test_exif_orientation_is_applied_before_it_is_dropped() -> None:
    photo = process_photo(_gps_jpeg(size=(40, 20), orientation=6))
    assert (photo.width, photo.height) == (20, 40)


def test_large_photos_are_resized_and_thumbnailed_small_ones_kept() -> None:
    big = process_photo(_encode(Image.new("RGB", (4000, 3000)), "JPEG"))
    assert (big.width, big.height) == (2048, 1536)
    assert Image.open(io.BytesIO(big.thumbnail)).size == (320, 240)
    small = process_photo(_encode(Image.new("RGB", (100, 80)), "JPEG"))
    assert (small.width, small.height) == (100, 80)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_gps_jpeg(size=(200, 200))[:300], "corrupt"),
        (b"this is a text file named photo.jpg\n" * 10, "not_an_image"),
        (_encode(Image.new("RGB", (10, 10)), "BMP"), "unsupported"),
        (_encode(Image.new("RGB", (10, 10)), "TIFF"), "unsupported"),
    ],
)
def test_bad_files_are_refused_by_content(data: bytes, reason: str) -> None:
    with pytest.raises(PhotoError) as error:
        process_photo(data)
    assert error.value.reason == reason


def _png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG header declaring side x side pixels, with a tiny body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side // 8 + 1) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = _png_bomb(60_000)  # 3.6 gigapixels declared in a file of a few hundred bytes
    assert len(bomb) < 2000
    started = time.monotonic()
    with pytest.raises(PhotoError) as error:
        process_photo(bomb)
    assert error.value.reason == "too_many_pixels"
    assert time.monotonic() - started < 2
    with pytest.raises(PhotoError) as error:
        process_photo(_png_bomb(8000), PhotoLimits(max_pixels=10_000_000))
    assert error.value.reason == "too_many_pixels"


def test_oversized_file_is_refused_before_decoding() -> None:
    with pytest.raises(PhotoError) as error:
        process_photo(b"\xff\xd8" + b"\0" * 2000, PhotoLimits(max_bytes=1000))
    assert error.value.reason == "too_large"


def test_content_address_is_stable_and_distinct() -> None:
    data = _gps_jpeg()
    assert process_photo(data).key == process_photo(data).key
    other = _encode(Image.new("RGB", (64, 48), (0, 0, 255)), "JPEG")
    assert process_photo(other).key != process_photo(data).key


def test_local_store_round_trip_and_key_checks(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    photo = process_photo(_gps_jpeg())
    assert not store.exists(photo.key)
    store.put(photo)
    store.put(photo)  # idempotent
    assert store.exists(photo.key)
    assert store.get(photo.key) == photo.image
    assert store.get(photo.key, thumbnail=True) == photo.thumbnail
    assert (tmp_path / photo.key[:2] / photo.key[2:4] / f"{photo.key}.jpg").exists()
    with pytest.raises(KeyError):
        store.get("0" * 64)
    for bad in ("../../etc/passwd", "ABC", photo.key.upper(), photo.key[:-1]):
        with pytest.raises(ValueError, match="not a photo key"):
            store.get(bad)
