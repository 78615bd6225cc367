"""Summaries of the workers' cProfile stats (bench.profiled_worker): where the CPU goes.

python -m bench.profiles /tmp/prof/worker-0.prof [...]
"""

from __future__ import annotations

import pstats
import sys
from collections import Counter

# Where a function's own time is counted, by the path it is defined in.
_GROUPS = (
    ("PIL", "Pillow (photo decoding, resizing, encoding)"),
    ("Imaging", "Pillow (photo decoding, resizing, encoding)"),
    ("/pydantic/", "pydantic (line-bot-sdk's models)"),
    ("/linebot/", "line-bot-sdk"),
    ("/psycopg/", "psycopg"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/greenlet", "SQLAlchemy's greenlets"),
    ("/aiohttp/", "aiohttp (the SDK's HTTP)"),
    ("/asyncio/", "asyncio"),
    ("/service/", "civic-gis (service/)"),
    ("/gis/", "civic-gis (gis/)"),
)


def _group(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for marker, label in _GROUPS:
        if marker in where:
            return label
    return "built-ins and the rest" if filename == "~" else "other Python"


def summary(paths: list[str], top: int = 15) -> list[str]:
    """CPU seconds by library, then the functions with the most time of their own."""
    stats = pstats.Stats(*paths)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())
    groups: Counter[str] = Counter()
    for (filename, _, name), entry in entries.items():
        groups[_group(filename, name)] += entry[2]
    lines = [f"CPU profiled: {total:.1f} s (each thread's CPU time)"]
    for label, seconds in groups.most_common():
        lines.append(f"  {seconds / total:6.1%}  {seconds:7.2f} s  {label}")
    lines.append(f"top {top} functions by own CPU time:")
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[:top]
    for (filename, line, name), entry in ranked:
        where = name if filename == "~" else f"{filename.split('site-packages/')[-1]}:{line} {name}"
        lines.append(f"  {entry[2]:7.2f} s  {entry[1]:>8} calls  {where}")
    return lines


if __name__ == "__main__":
    print("\n".join(summary(sys.argv[1:])))
