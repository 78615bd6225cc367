"""Build the shipped shelters.geojson from GSI sites and shelters files.

python -m gis.sources.build_shelters SITES SHELTERS OUT [--credit TEXT]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gis.sources.errors import SourceError
from gis.sources.gsi import join_sites_and_shelters, read_shelters_file, write_joined_geojson

DEFAULT_CREDIT = "出典：国土地理院 指定緊急避難場所データ（加工して作成）"


def main(argv: Sequence[str] | None = None) -> int:
    """Join SITES (GSI CSV or GeoJSON) with SHELTERS and write OUT; 0 on success."""
    parser = argparse.ArgumentParser(
        description="Join GSI emergency sites and shelters into shelters.geojson."
    )
    parser.add_argument("sites", help="指定緊急避難場所: GSI CSV or GeoJSON")
    parser.add_argument("shelters", help="指定避難所: GSI GeoJSON")
    parser.add_argument("out", help="the joined GeoJSON to write")
    parser.add_argument("--credit", default=DEFAULT_CREDIT, help="the credit line to embed")
    args = parser.parse_args(argv)
    try:
        sites = read_shelters_file(args.sites)
        shelters = read_shelters_file(args.shelters)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    records = join_sites_and_shelters(sites, shelters)
    write_joined_geojson(records, args.out, args.credit)
    linked = sum(r.is_emergency_site and r.is_shelter for r in records)
    print(
        f"{len(sites)} sites + {len(shelters)} shelters -> {len(records)} records "
        f"({linked} linked) in {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
