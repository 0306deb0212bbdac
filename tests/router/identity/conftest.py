"""Helpers of the account and agent directory tests."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def values(data: Any) -> Iterator[Any]:
    """Every key and scalar value in a JSON document."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from values(v)
    elif isinstance(data, list):
        for v in data:
            yield from values(v)
    else:
        yield data


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
