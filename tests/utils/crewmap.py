"""Reading the crew map page as crewmap.js does: its JSON data blocks, the report rows
decoded, and the names of its overlays."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9))

_DATA_BLOCK = r'<script type="application/json" id="({}_[0-9a-f]+_data)">(.*?)</script>'


def data_block(html: str, layer: str = "crew_reports") -> dict[str, Any]:
    """The page's one JSON data block of `layer`."""
    blocks = re.findall(_DATA_BLOCK.format(layer), html, re.DOTALL)
    assert len(blocks) == 1, f"{len(blocks)} data blocks for {layer}"
    data: dict[str, Any] = json.loads(blocks[0][1])
    return data


def decode(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The clusters in a report data block, decoded as crewmap.js decodes them."""
    assert data["v"] == 2
    stride, rows = data["stride"], data["rows"]
    decoded = {}
    cluster_id, first = 0, data["t0"]
    for start in range(0, len(rows), stride):
        row = rows[start : start + stride]
        cluster_id += row[0]
        first += row[6]
        detail, thumbnail = data["detail"], data["thumbnail"]
        decoded[cluster_id] = {
            "lon": (data["origin"][0] + row[1]) / 1e5,
            "lat": (data["origin"][1] + row[2]) / 1e5,
            "category": data["categories"][row[3]],
            "symbol": data["symbols"][row[3]],
            "status_code": row[4],
            "status": data["statuses"][row[4]],
            "colour": data["colours"][row[4]],
            "report_count": row[5],
            "first_at": datetime.fromtimestamp(first * 60, tz=JST),
            "last_at": datetime.fromtimestamp((first + row[7]) * 60, tz=JST),
            "detail_url": f"{detail[0]}{cluster_id}{detail[1]}",
            "thumbnail_url": f"{thumbnail[0]}{cluster_id}{thumbnail[1]}" if row[8] else None,
        }
    return decoded


def overlay_names(html: str) -> list[str]:
    """The overlay names in the LayerControl's script."""
    block = re.search(r"overlays :\s*\{(.*?)\}", html, re.DOTALL)
    assert block is not None
    return [json.loads(name) for name in re.findall(r'("(?:[^"\\]|\\.)*") :', block.group(1))]
