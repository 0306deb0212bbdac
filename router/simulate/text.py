"""The simulated day as a terminal table: one line per interval, then the day, then each team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from router.simulate.report import Figures, Report

__all__ = ["render_text"]

_HEADER = (
    "time",
    "contacts",
    "answered",
    "abandoned",
    "SL",
    "ASA s",
    "abandon",
    "occupancy",
    "longest s",
    "waiting",
    "agents",
)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cells(label: str, f: Figures) -> tuple[str, ...]:
    return (
        label,
        f"{f.contacts:,}",
        f"{f.answered:,}",
        f"{f.abandoned:,}",
        _pct(f.service_level),
        _num(f.asa_s, 1),
        _pct(f.abandon_rate),
        _pct(f.occupancy),
        _num(f.longest_wait_s),
        f"{f.waiting:,}",
        _num(f.agents, 1),
    )


def _table(rows: Sequence[tuple[str, ...]], rule_before: Sequence[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    lines = []
    for n, row in enumerate(rows):
        if n in rule_before:
            lines.append("  ".join("-" * w for w in widths))
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_text(report: Report, *, title: str = "Simulated day") -> str:
    """The report as a table; the SLA thresholds and what the columns count come first."""
    zone = ZoneInfo(report.timezone)
    start = datetime.fromtimestamp(report.day.start, zone)
    end = datetime.fromtimestamp(report.day.end, zone)
    until = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%a %H:%M")
    sla = ", ".join(f"{ch} {t:g} s" for ch, (t, _) in report.sla.items())
    lines = [
        f"{title}: {start:%a %Y-%m-%d %H:%M}–{until} {report.timezone}, seed {report.seed}",
        f"SL: answered within the channel's threshold ({sla}); waiting: at the interval's end",
        "",
    ]
    rows = [_HEADER] + [_cells(r.label, r.desk) for r in report.intervals]
    rows.append(_cells("day", report.day.desk))
    rows += [_cells(team, f) for team, f in report.day.teams.items()]
    day_at = len(report.intervals) + 1
    lines += _table(rows, rule_before=(1, day_at, day_at + 1))
    return "\n".join(lines) + "\n"
