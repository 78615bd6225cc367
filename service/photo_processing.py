"""Where report photos are decoded and re-encoded: a pool of processes, off the event loop.

`process_photo` is CPU-bound; in a thread it still holds the GIL for much of its time, so
every other event of the worker waits behind it. A pool of PHOTO_PROCESSES processes (one
per core by default) runs it beside the event loop; PHOTO_PROCESSES=0 runs it in a thread
of the worker, as before. The pool starts its processes on first use ("spawn": the
worker's threads and connections are never forked), and one that dies (killed for memory,
say) is replaced and the photo tried once more, so a resident's photo is not lost to it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from service.photos import PhotoLimits, ProcessedPhoto, process_photo

log = logging.getLogger(__name__)


class PhotoProcessing:
    """Runs `process_photo` in a pool of processes, or in a thread with `processes=0`."""

    def __init__(self, processes: int) -> None:
        """A pool of `processes` processes (started when first needed); 0: a thread."""
        if processes < 0:
            raise ValueError("PHOTO_PROCESSES must be 0 or more")
        self.processes = processes
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor | None:
        if self.processes == 0:
            return None
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.processes, mp_context=context)

    async def process(self, data: bytes, limits: PhotoLimits) -> ProcessedPhoto:
        """`process_photo(data, limits)` off the event loop; raises what it raises
        (`PhotoError` for a photo refused)."""
        pool = self._pool
        if pool is None:
            return await asyncio.to_thread(process_photo, data, limits)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, process_photo, data, limits)
        except BrokenProcessPool:
            log.warning("a photo process died; starting a new pool and trying again")
            if self._pool is pool:
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            assert self._pool is not None  # noqa: S101 (processes > 0)
            return await loop.run_in_executor(self._pool, process_photo, data, limits)

    def close(self) -> None:
        """Stop the processes (a photo being processed is finished first)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
