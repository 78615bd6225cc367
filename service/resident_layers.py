"""Which loaded hazard layers hold each registered spot, kept on the registration row
(resident_areas.hazard_layer_ids, GIN-indexed): an alert to whole hazard layers then counts
its residents through that index instead of searching the layers' areas per request.

A spot is in a layer when the layer's stored area (the union of its zones, in pieces: see
gis.load) covers it. The ids are worked out again, in the transaction of the change, when a
resident registers or moves their spot (service.line.area_chat.save_area) and when a layer
is loaded or reloaded (service.bundled after gis.load, which knows nothing of residents).
"""

from __future__ import annotations

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection


def _refresh(which: str) -> TextClause:
    """The statement that works out the layers of the spots `which` selects (of
    resident_areas `a`), writing only the rows whose layers changed."""
    # Built from this module's constants only: the values are bound parameters.
    return text(f"""
        UPDATE resident_areas r SET hazard_layer_ids = n.ids
        FROM (
            SELECT a.user_id,
                   ARRAY(SELECT DISTINCT p.layer_id FROM hazard_layer_area_parts p
                         WHERE ST_Covers(p.geom, a.geom) ORDER BY p.layer_id) AS ids
            FROM resident_areas a
            WHERE {which}
        ) n
        WHERE r.user_id = n.user_id AND r.hazard_layer_ids <> n.ids
    """)  # noqa: S608


_RESIDENT = _refresh("a.user_id = :user_id")
# Only the spots a layer may have changed: those it held, found by the array's index, and
# those its area holds now, found piece by piece through the spots' index.
_LAYER = _refresh("""
    a.user_id IN (
        SELECT h.user_id FROM resident_areas h
        WHERE h.hazard_layer_ids @> ARRAY[CAST(:layer_id AS integer)]
        UNION
        SELECT i.user_id FROM hazard_layer_area_parts p
        JOIN resident_areas i ON ST_Covers(p.geom, i.geom)
        WHERE p.layer_id = :layer_id
    )
""")


async def refresh_resident(conn: AsyncConnection, user_id: str) -> None:
    """Work out the layers of `user_id`'s registered spot again (after it was stored or
    moved), in `conn`'s transaction."""
    await conn.execute(_RESIDENT, {"user_id": user_id})


def refresh_layer(conn: Connection, layer_id: int) -> int:
    """Work out again which registered spots hazard layer `layer_id` holds, after its area
    was stored anew, in `conn`'s transaction (after the layer is deleted, this takes its id
    off every spot). Returns how many residents' layers changed."""
    return conn.execute(_LAYER, {"layer_id": layer_id}).rowcount
