"""`civic worker` under cProfile, every thread included (the asyncio loop and the threads
that `asyncio.to_thread` runs), timed in each thread's CPU time (waiting costs nothing);
the stats are written when the worker stops on SIGTERM.

    python -m bench.profiled_worker OUT.prof --count 4
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from types import FrameType
from typing import Any

from service.cli import app


def main() -> None:
    """Run the worker with the remaining arguments; write the merged stats to argv[1]."""
    out = sys.argv[1]
    profiles: list[cProfile.Profile] = []

    def in_new_thread(frame: FrameType, event: str, arg: Any) -> None:
        # Called once, on a new thread's first event: from then on cProfile's own hook runs.
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    threading.setprofile(in_new_thread)
    main_thread = cProfile.Profile(time.thread_time)
    main_thread.enable()
    try:
        app(["worker", *sys.argv[2:]])
    except SystemExit:
        pass
    finally:
        main_thread.disable()
        stats = pstats.Stats(main_thread)
        for profile in profiles:
            stats.add(profile)
        stats.dump_stats(out)


if __name__ == "__main__":
    main()
