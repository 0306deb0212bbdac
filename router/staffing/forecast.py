"""A day's forecast (CSV) to a staffing row per interval and team; pure, the caller reads the file.

The CSV has a header line naming four columns, in any order (other columns are ignored)::

    interval_start,team,calls,aht_s
    09:00,billing,100,180
    2025-03-03T09:30:00+01:00,technical,42.5,240

``interval_start`` is ``HH:MM`` or an ISO 8601 date and time; ``calls`` the calls forecast for
the interval (a decimal is fine: forecasts are averages), ``aht_s`` their average handle time
in seconds. Every interval lasts the same ``interval_s``. Each (interval_start, team) appears
once. A bad file raises ``ForecastError`` listing every bad line by its number.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from router.staffing.erlang import Staffing, agents_needed

__all__ = ["COLUMNS", "ForecastError", "ForecastRow", "StaffedRow", "parse_forecast", "staff_rows"]

#: The header names a forecast must have.
COLUMNS = ("interval_start", "team", "calls", "aht_s")
_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class ForecastError(ValueError):
    """A forecast that cannot be read; ``problems`` holds ``(line number, message)`` pairs."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"line {line}: {message}" for line, message in problems))


@dataclass(frozen=True, slots=True)
class ForecastRow:
    """One interval of one team: its start as written (normalised), calls and AHT."""

    line: int
    interval_start: str
    team: str
    calls: float
    aht_s: float


@dataclass(frozen=True, slots=True)
class StaffedRow:
    row: ForecastRow
    staffing: Staffing


def parse_forecast(lines: Iterable[str]) -> list[ForecastRow]:
    """The rows of a forecast CSV, in file order; raises ``ForecastError``."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise ForecastError([(1, f"the file is empty; the first line names {', '.join(COLUMNS)}")])
    names = [name.strip().lower() for name in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ForecastError(
            [(1, f"the header lacks {', '.join(missing)}; it must name {', '.join(COLUMNS)}")]
        )
    where = {c: names.index(c) for c in COLUMNS}
    rows: list[ForecastRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are allowed
        try:
            row = _row(line, cells, where)
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        key = (row.interval_start, row.team)
        if key in seen:
            problems.append(
                (line, f"{row.team} at {row.interval_start} is on line {seen[key]} too")
            )
            continue
        seen[key] = line
        rows.append(row)
    if problems:
        raise ForecastError(problems)
    if not rows:
        raise ForecastError([(1, "the file has a header and no intervals")])
    return rows


def _row(line: int, cells: list[str], where: dict[str, int]) -> ForecastRow:
    if len(cells) <= max(where.values()):
        raise ValueError(f"has {len(cells)} columns, the header {max(where.values()) + 1}")
    cell = {name: cells[i].strip() for name, i in where.items()}
    if not cell["team"]:
        raise ValueError("team is empty")
    calls = _number("calls", cell["calls"])
    if calls < 0:
        raise ValueError(f"calls {cell['calls']!r} is negative")
    aht_s = _number("aht_s", cell["aht_s"])
    if aht_s <= 0:
        raise ValueError(f"aht_s {cell['aht_s']!r} must be more than 0 seconds")
    return ForecastRow(line, _start(cell["interval_start"]), cell["team"], calls, aht_s)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} {text!r} is not a finite number")
    return value


def _start(text: str) -> str:
    if match := _HH_MM.fullmatch(text):
        return f"{int(match[1]):02d}:{match[2]}"
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(
            f"interval_start {text!r} is neither HH:MM nor an ISO date and time "
            "(e.g. 09:30 or 2025-03-03T09:30:00+01:00)"
        ) from None


def staff_rows(
    rows: Iterable[ForecastRow],
    *,
    interval_s: float,
    target: float,
    within_s: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
    patience_s: float | None = None,
) -> list[StaffedRow]:
    """The agents each row needs (``agents_needed``), in the rows' order."""
    return [
        StaffedRow(
            row,
            agents_needed(
                row.calls,
                interval_s,
                row.aht_s,
                target,
                within_s,
                max_occupancy=max_occupancy,
                shrinkage=shrinkage,
                patience_s=patience_s,
            ),
        )
        for row in rows
    ]
