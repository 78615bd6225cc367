"""Residents' report photos: checked, cleaned, resized and stored by content address.

A photo from the chat is untrusted bytes. `process_photo` identifies it by its content (never
by a file name), refuses decompression bombs from the header before any pixel is decoded,
decodes it fully, turns it upright, and re-encodes fresh JPEGs (full size and thumbnail) from
the pixels alone, so no EXIF (GPS, camera), XMP, ICC profile or comment survives. The key is
the SHA-256 of the stored full image, so a photo sent twice is stored once.

The functions here are CPU-bound and synchronous; the report conversation runs
`process_photo` in a pool of processes (service/photo_processing.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

PhotoErrorReason = Literal["not_an_image", "unsupported", "too_large", "too_many_pixels", "corrupt"]

# MPO is the multi-picture JPEG some phones send; its first frame is an ordinary JPEG.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF"})

JPEG_QUALITY = 85

# What Pillow raises for malformed data once a file has been identified.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

_KEY_PATTERN = re.compile(r"[0-9a-f]{64}")


class PhotoError(ValueError):
    """A photo we refuse; `reason` picks the resident-facing text, the message is for logs."""

    def __init__(self, reason: PhotoErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason: PhotoErrorReason = reason

    def __reduce__(self) -> tuple[type[PhotoError], tuple[PhotoErrorReason, str]]:
        # Raised in a photo process and re-raised in the worker: pickled with its reason.
        return PhotoError, (self.reason, str(self))


@dataclass(frozen=True)
class PhotoFiles:
    """What a store keeps of a photo: JPEG bytes and a thumbnail, keyed by the SHA-256 of
    `image`."""

    key: str
    image: bytes
    thumbnail: bytes


@dataclass(frozen=True)
class ProcessedPhoto(PhotoFiles):
    """A cleaned photo: JPEG bytes without metadata, and its size in pixels."""

    width: int
    height: int


@dataclass(frozen=True)
class StoredPhoto:
    """A photo in a store, and when it was stored (or stored again) last."""

    key: str
    stored_at: datetime


@dataclass(frozen=True)
class PhotoLimits:
    """Upload size, pixel budget and output sizes (longest side, in pixels)."""

    max_bytes: int = 10_000_000
    max_side: int = 2048
    thumbnail_side: int = 320
    max_pixels: int = 40_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_side", "thumbnail_side", "max_pixels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"PhotoLimits.{name} must be positive")


def process_photo(data: bytes, limits: PhotoLimits = PhotoLimits()) -> ProcessedPhoto:
    """Validate and clean an uploaded photo; raise `PhotoError` if it is refused.

    The same bytes always give the same key (with the same Pillow and libjpeg versions).
    """
    if len(data) > limits.max_bytes:
        raise PhotoError(
            "too_large", f"photo is {len(data)} bytes, the limit is {limits.max_bytes}"
        )

    with _decoding():
        opened = Image.open(io.BytesIO(data))
    with opened as img:
        if img.format not in ACCEPTED_FORMATS:
            raise PhotoError("unsupported", f"{img.format} images are not accepted")
        width, height = img.size
        budget = _pixel_budget(limits)
        # From the header only: nothing has been decompressed yet.
        if width * height > budget:
            raise PhotoError(
                "too_many_pixels",
                f"{img.format} declares {width}x{height} pixels, the limit is {budget}",
            )
        if img.format in ("JPEG", "MPO"):
            # Decode big JPEGs at a reduced DCT scale (never below max_side): much cheaper.
            img.draft("RGB", (limits.max_side, limits.max_side))
        with _decoding():
            img.load()
            ImageOps.exif_transpose(img, in_place=True)
            full = _flatten_to_rgb(img)

    full.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    image = _encode_jpeg(full)
    thumb = full.copy()
    side = limits.thumbnail_side
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return ProcessedPhoto(
        key=hashlib.sha256(image).hexdigest(),
        image=image,
        thumbnail=_encode_jpeg(thumb),
        width=full.width,
        height=full.height,
    )


@contextmanager
def _decoding() -> Iterator[None]:
    """Turn Pillow's exceptions into `PhotoError`s."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise PhotoError("too_many_pixels", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise PhotoError("not_an_image", "content is not an image Pillow recognises") from exc
    except _DECODE_ERRORS as exc:
        raise PhotoError("corrupt", f"cannot decode the image: {exc}") from exc


def _pixel_budget(limits: PhotoLimits) -> int:
    """Our limit, lowered to Pillow's if that is lower.

    Pillow only warns (DecompressionBombWarning) between its limit and twice it; refusing
    everything above its limit means a warned-about image is never accepted. Turning the
    warning into an error with `warnings.catch_warnings` is not an option: it swaps
    process-wide state and is not thread-safe, and callers run us in threads.
    """
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return limits.max_pixels if pillow_limit is None else min(limits.max_pixels, pillow_limit)


def _flatten_to_rgb(img: Image.Image) -> Image.Image:
    """A new RGB image holding only the pixels, transparency flattened onto white.

    Starting from `Image.new` leaves `info` empty, so the JPEG encoder finds nothing to
    copy (Pillow's JPEG save carries over `info["comment"]` by itself, for instance).
    """
    canvas = Image.new("RGB", img.size, (255, 255, 255))
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        canvas.paste(rgba, mask=rgba)
    else:
        canvas.paste(img.convert("RGB"))
    return canvas


def _encode_jpeg(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Baseline, unoptimised: optimize/progressive cost a second pass for a few percent.
    img.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def check_photo_key(key: str) -> str:
    """`key` if it is 64 lowercase hex characters (a key can never name a path outside a
    store), else ValueError."""
    if _KEY_PATTERN.fullmatch(key) is None:
        raise ValueError(f"not a photo key: {key!r}")
    return key


class PhotoStore(Protocol):
    """Where processed photos live, addressed by `PhotoFiles.key`.

    Storing a key again refreshes its time: a photo just sent again is as young as a new one
    (see service/photo_cleanup.py). A photo's thumbnail goes with it: stored before it,
    removed after it, so whenever `exists` is true both are there.
    """

    def put(self, photo: PhotoFiles) -> None:
        """Store the photo and its thumbnail; ValueError if the key is not the hash."""
        ...

    def get(self, key: str, *, thumbnail: bool = False) -> bytes:
        """The JPEG bytes of the photo (or its thumbnail); KeyError if absent."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the photo is stored."""
        ...

    def stored(self) -> Iterator[StoredPhoto]:
        """Every stored photo, in no particular order."""
        ...

    def stored_at(self, key: str) -> datetime | None:
        """When the photo was stored (or stored again) last; None if it is not stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove the photo and its thumbnail; a key not stored is no error."""
        ...

    @property
    def location(self) -> str:
        """Where the photos are, for people: a folder, or s3://bucket/prefix."""
        ...


def check_photo_files(photo: PhotoFiles) -> None:
    """ValueError unless `photo`'s key is well formed and the SHA-256 of its image."""
    check_photo_key(photo.key)
    if hashlib.sha256(photo.image).hexdigest() != photo.key:
        raise ValueError(f"photo key {photo.key} is not the SHA-256 of its image")


class LocalPhotoStore:
    """A `PhotoStore` in a directory: `root/ab/cd/<key>.jpg` and `<key>.thumb.jpg`."""

    def __init__(self, root: Path) -> None:
        """Use `root`; it and its subdirectories are created on the first `put`."""
        self.root = root

    @property
    def location(self) -> str:
        """The folder."""
        return str(self.root)

    def put(self, photo: PhotoFiles) -> None:
        """Write both files atomically unless present (then refresh their time);
        ValueError if the key is not the hash."""
        check_photo_files(photo)
        # Thumbnail first: once the full image exists (what `exists` checks), both do.
        self._write_once(self._path(photo.key, thumbnail=True), photo.thumbnail)
        self._write_once(self._path(photo.key, thumbnail=False), photo.image)

    def get(self, key: str, *, thumbnail: bool = False) -> bytes:
        """The stored JPEG bytes; KeyError if the key is not stored, ValueError if malformed."""
        try:
            return self._path(key, thumbnail=thumbnail).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        """Whether the photo is stored; ValueError if the key is malformed."""
        return self._path(key, thumbnail=False).is_file()

    def stored(self) -> Iterator[StoredPhoto]:
        """Every photo under the folder, with its file's time."""
        for path in self.root.glob("??/??/*.jpg"):
            key = path.name.removesuffix(".jpg")
            if _KEY_PATTERN.fullmatch(key):
                with suppress(FileNotFoundError):  # removed meanwhile
                    yield StoredPhoto(key, _modified(path))

    def stored_at(self, key: str) -> datetime | None:
        """The time of the photo's file; None if it is not stored."""
        try:
            return _modified(self._path(key, thumbnail=False))
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        """Remove the photo, then its thumbnail."""
        self._path(key, thumbnail=False).unlink(missing_ok=True)
        self._path(key, thumbnail=True).unlink(missing_ok=True)

    def _path(self, key: str, *, thumbnail: bool) -> Path:
        check_photo_key(key)
        suffix = ".thumb.jpg" if thumbnail else ".jpg"
        return self.root / key[:2] / key[2:4] / f"{key}{suffix}"

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        # Content-addressed: an existing file already holds these bytes; its time is
        # refreshed, so that a photo stored again is not taken for an old unreferenced one.
        if path.exists():
            with suppress(FileNotFoundError):
                os.utime(path)
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file in the same directory, then a rename: readers never see a
        # half-written photo, and a crash leaves at most a stray temporary file.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
