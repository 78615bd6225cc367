"""A pool of asyncio workers draining a durable queue table (the inbox, the outbox).

Each queue supplies a step, `run_one()`: claim one due item, handle it, record the outcome,
and say whether there was anything to do. Idle workers sleep until woken or until the poll
interval passes, so items stored by other processes are picked up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


Step = Callable[[], Awaitable[bool]]


class WorkerPool:
    """Runs a step in `count` concurrent loops on the running event loop."""

    def __init__(self, name: str, new_step: Callable[[], Step], poll_seconds: float):
        """`new_step` makes the step of one loop (the same one for a queue that keeps no
        state between the steps of a loop)."""
        self._name = name
        self._new_step = new_step
        self._poll_seconds = poll_seconds
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, count: int) -> None:
        """Start `count` workers."""
        for number in range(count):
            task = asyncio.create_task(self._loop(), name=f"{self._name}-{number}")
            self._tasks.append(task)

    def wake(self) -> None:
        """Tell idle workers that new items were stored."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Stop the workers; an item being handled keeps its lease until it runs out."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def drain(self) -> int:
        """Handle items until none is due now. Returns how many were handled."""
        handled = 0
        step = self._new_step()
        while await step():
            handled += 1
        return handled

    async def _loop(self) -> None:
        step = self._new_step()
        while True:
            self._wakeup.clear()
            try:
                if await step():
                    continue
            except Exception:
                # The database may be briefly unreachable: keep the worker alive and retry.
                log.exception("%s worker error", self._name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_seconds)
