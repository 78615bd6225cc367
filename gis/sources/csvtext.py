"""Reading the CSV files Japanese public bodies publish: UTF-8 (with or without a BOM) or
Shift_JIS, quoted fields with newlines, blank lines. Shared by the GSI and facility readers."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from gis.sources.errors import SourceError


def decode_text(path: str | os.PathLike[str]) -> str:
    """The file's text: UTF-8 (a BOM is dropped), else Shift_JIS (cp932); SourceError if
    neither."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Per-prefecture and older per-city files are Shift_JIS.
    try:
        return raw.decode("cp932")
    except UnicodeDecodeError as exc:
        raise SourceError(path, "neither UTF-8 nor Shift_JIS (cp932) text") from exc


@dataclass(frozen=True)
class CsvFile:
    """The records of a CSV file that are not blank, header included, and whether its text
    ends with a newline (a file cut off in the middle of a record does not)."""

    rows: list[list[str]]
    ends_with_newline: bool


def read_csv(path: str | os.PathLike[str]) -> CsvFile:
    """The file's records; SourceError (with the line) for broken quoting."""
    text = decode_text(path)
    # newline="" keeps newlines inside quoted fields for the csv module to handle.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise SourceError(path, f"line {reader.line_num}: {exc}") from exc
    return CsvFile(rows, text.rstrip(" \t").endswith(("\n", "\r")))


def read_csv_rows(path: str | os.PathLike[str]) -> list[list[str]]:
    """Every record of a CSV file that is not blank, header included; SourceError (with the
    line) for broken quoting."""
    return read_csv(path).rows
