"""Photos decoded and re-encoded in a pool of processes (PHOTO_PROCESSES), off the worker's
event loop: the same clean photo as in a thread, the same refusals, and a photo process
that dies loses no photo. The chat tests (test_reports_chat.py) run the pool end to end."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.photo_processing import PhotoProcessing
from service.photos import PhotoError, PhotoLimits, process_photo
from service.settings import ReportSettings
from tests.utils.photos import jpeg


@pytest.fixture
def pool() -> Iterator[PhotoProcessing]:
    processing = PhotoProcessing(2)
    yield processing
    processing.close()


def _photo_processes() -> list[int]:
    """This process's children that run a multiprocessing pool's work."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_pool_gives_the_same_clean_photo_as_a_thread(pool: PhotoProcessing) -> None:
    data = jpeg(gps=True, size=(1600, 1200))
    in_pool = asyncio.run(pool.process(data, PhotoLimits()))
    in_thread = asyncio.run(PhotoProcessing(0).process(data, PhotoLimits()))
    assert in_pool == in_thread == process_photo(data)
    assert b"TestCam" not in in_pool.image
    assert (in_pool.width, in_pool.height) == (1600, 1200)


def test_a_refused_photo_keeps_its_reason_across_the_process(pool: PhotoProcessing) -> None:
    with pytest.raises(PhotoError) as refused:
        asyncio.run(pool.process(b"not a photo at all", PhotoLimits()))
    assert refused.value.reason == "not_an_image"
    with pytest.raises(PhotoError) as too_large:
        asyncio.run(pool.process(jpeg(), PhotoLimits(max_bytes=100)))
    assert too_large.value.reason == "too_large"


def test_a_photo_process_killed_loses_no_later_photo(pool: PhotoProcessing) -> None:
    data = jpeg(size=(800, 600))
    first = asyncio.run(pool.process(data, PhotoLimits()))
    children = _photo_processes()
    assert children, "the pool runs photos in processes of its own"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    assert asyncio.run(pool.process(data, PhotoLimits())) == first


def test_photo_processes_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTO_PROCESSES", raising=False)
    assert ReportSettings().photo_processes == (os.cpu_count() or 1)
    monkeypatch.setenv("PHOTO_PROCESSES", "0")
    assert ReportSettings().photo_processes == 0
    monkeypatch.setenv("PHOTO_PROCESSES", "-1")
    with pytest.raises(ValidationError, match="PHOTO_PROCESSES"):
        ReportSettings()
