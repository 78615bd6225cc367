"""Photos made with Pillow for the tests (synthetic: a plain colour, a made-up camera)."""

from __future__ import annotations

import io

from PIL import Image


def jpeg(*, gps: bool = False, size: tuple[int, int] = (640, 480)) -> bytes:
    """A photo; with `gps`, one that carries the camera's position in EXIF."""
    image = Image.new("RGB", size, (120, 140, 160))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (35.0, 45.0, 30.0), 3: "E", 4: (139.0, 44.0, 10.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()
