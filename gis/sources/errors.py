"""The one error every reader raises for bad input data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


class SourceError(ValueError):
    """A data file that cannot be read, located as precisely as possible.

    `str()` reads like ``shelters.csv: row 12, field 緯度: not a number: 'abc'``.
    `feature` is the 1-based feature (GeoJSON) or data row (CSV) number, `unit` says which.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        message: str,
        *,
        feature: int | None = None,
        field: str | None = None,
        unit: str = "feature",
    ) -> None:
        self.path = Path(path)
        self.message = message
        self.feature = feature
        self.field = field
        self.unit = unit
        location = ", ".join(
            part
            for part in (
                f"{unit} {feature}" if feature is not None else None,
                f"field {field}" if field is not None else None,
            )
            if part
        )
        prefix = f"{self.path.name}: {location}" if location else self.path.name
        super().__init__(f"{prefix}: {message}")


# A SourceError factory bound to a file and a feature or row, as readers pass it down:
# `fail = functools.partial(SourceError, path, feature=n)`, then `raise fail(msg, field=f)`.
Fail = Callable[..., SourceError]
