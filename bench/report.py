"""Figures: what one measurement gave, printed as a table and written as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Figure", "render_table", "to_json", "write_json"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One benchmark figure; ``baseline`` is the same figure for a reference measured in
    the same run, and ``target`` an upper bound the value should stay under."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    note: str = ""  # what the baseline is, or how the value came about
    target: float | None = None  # the value must be <= target

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value <= 0:
            raise ValueError(f"figure {self.name!r} has value {self.value!r}; expected > 0")
        if self.baseline is not None and (not math.isfinite(self.baseline) or self.baseline <= 0):
            raise ValueError(f"figure {self.name!r} has baseline {self.baseline!r}; expected > 0")

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.value / self.baseline

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.value <= self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": float(self.value),
            "unit": self.unit,
            "baseline": None if self.baseline is None else float(self.baseline),
            "ratio": self.ratio,
        }


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 1 else f"{value:.2f}"


def render_table(figures: Sequence[Figure]) -> str:
    """A plain-text table: one row per figure, with baseline, ratio and target."""
    header = ("figure", "value", "unit", "baseline", "ratio", "target", "met", "note")
    rows = [
        (
            f.name,
            _num(f.value),
            f.unit,
            _num(f.baseline),
            "-" if f.ratio is None else f"{f.ratio:.3f}",
            "-" if f.target is None else f"<= {_num(f.target)}",
            {None: "-", True: "yes", False: "NO"}[f.met],
            f.note,
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    numeric = {1, 3, 4}
    lines = []
    for row in (header, *rows):
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_json(figures: Sequence[Figure]) -> str:
    return json.dumps([f.to_dict() for f in figures], indent=2) + "\n"


def write_json(figures: Sequence[Figure], path: Path) -> None:
    path.write_text(to_json(figures), encoding="utf-8")
