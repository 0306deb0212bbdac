"""``switchboard staff``: how many agents a number of calls needs (Erlang C, or Erlang A with
``--patience-s``), for one interval or for every interval and team of a forecast CSV.

Exit status: 0 done, 2 bad options or a bad forecast file (the message names what and where).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from typing import Any

from router.staffing import (
    COLUMNS,
    ForecastError,
    StaffedRow,
    Staffing,
    agents_needed,
    parse_forecast,
    service_goal,
    staff_rows,
)

__all__ = ["add_arguments", "staff"]

_PROG = "switchboard staff"
_COLUMNS = ("interval", "team", "calls", "AHT s", "erlangs", "agents", "scheduled", "SL", "ASA s",
            "P(wait)", "occupancy")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``switchboard staff``."""
    what = parser.add_argument_group("what to staff (--calls and --aht-s, or --forecast)")
    what.add_argument("--calls", type=float, help="calls offered in the interval")
    what.add_argument("--aht-s", type=float, help="average handle time, seconds")
    what.add_argument(
        "--forecast",
        metavar="FILE.csv",
        help=f"a day's forecast, columns {','.join(COLUMNS)} (interval start HH:MM or ISO)",
    )
    parser.add_argument(
        "--interval-s", type=float, default=1800.0, help="length of an interval (%(default)g)"
    )
    parser.add_argument(
        "--target",
        type=float,
        help="service level to reach, a share (default: the config's sla.answer for voice)",
    )
    parser.add_argument(
        "--within-s",
        type=float,
        help="answered within this many seconds (default: the config's sla.answer for voice)",
    )
    parser.add_argument("--max-occupancy", type=float, help="the highest occupancy allowed")
    parser.add_argument(
        "--shrinkage",
        type=float,
        default=0.0,
        help="share of paid time off the phones; scheduled = agents / (1 - shrinkage)",
    )
    parser.add_argument(
        "--patience-s", type=float, help="callers' mean patience: Erlang A, with abandonment"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


class _BadOptions(Exception):
    pass


def staff(args: argparse.Namespace) -> int:
    """Run ``switchboard staff``; reads the config only for a --target/--within-s not given."""
    try:
        target, within_s = _target(args)
        _check(args, target, within_s)
        if args.forecast is not None:
            return _forecast(args, target, within_s)
        staffing = agents_needed(
            args.calls,
            args.interval_s,
            args.aht_s,
            target,
            within_s,
            max_occupancy=args.max_occupancy,
            shrinkage=args.shrinkage,
            patience_s=args.patience_s,
        )
    except (_BadOptions, ValueError) as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**_inputs(args, target, within_s), **asdict(staffing)}, indent=2))
    else:
        print(_report(args, target, within_s, staffing))
    return 0


def _target(args: argparse.Namespace) -> tuple[float, float]:
    if args.target is not None and args.within_s is not None:
        return args.target, args.within_s
    from router.config import ConfigError, load_config

    try:
        answer = load_config(args.config).sla.answer
    except ConfigError as exc:
        raise _BadOptions(
            f"give --target and --within-s, or a readable config with sla.answer ({exc})"
        ) from None
    goal = service_goal(answer)  # voice's, as the dashboard's figure
    if goal is None:
        raise _BadOptions(f"give --target and --within-s: {args.config} has no sla.answer")
    target = args.target if args.target is not None else goal.target
    within_s = args.within_s if args.within_s is not None else goal.within_s
    return target, within_s


def _check(args: argparse.Namespace, target: float, within_s: float) -> None:
    """Say which option is wrong, in the option's own name."""
    if args.forecast is not None:
        given = [o for o, v in (("--calls", args.calls), ("--aht-s", args.aht_s)) if v is not None]
        if given:
            raise _BadOptions(f"{' and '.join(given)} come from the forecast; leave them out")
    else:
        missing = [o for o, v in (("--calls", args.calls), ("--aht-s", args.aht_s)) if v is None]
        if missing:
            raise _BadOptions(f"give {' and '.join(missing)}, or --forecast FILE.csv")
        _at_least("--calls", args.calls, 0.0, "e.g. --calls 100")
        _more_than("--aht-s", args.aht_s, "e.g. --aht-s 180")
    _more_than("--interval-s", args.interval_s, "e.g. --interval-s 1800")
    if not 0.0 < target < 1.0:
        raise _BadOptions(f"--target {target:g} must be a share between 0 and 1, e.g. 0.8")
    _at_least("--within-s", within_s, 0.0, "e.g. --within-s 20")
    occupancy = args.max_occupancy
    if occupancy is not None and not 0.0 < occupancy <= 1.0:
        raise _BadOptions(f"--max-occupancy {occupancy:g} must be in (0, 1], e.g. 0.85")
    if not 0.0 <= args.shrinkage < 1.0:
        raise _BadOptions(f"--shrinkage {args.shrinkage:g} must be in [0, 1), e.g. 0.3")
    if args.patience_s is not None:
        _more_than("--patience-s", args.patience_s, "e.g. --patience-s 120")


def _more_than(option: str, value: float, example: str) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise _BadOptions(f"{option} {value:g} must be a number of seconds over 0, {example}")


def _at_least(option: str, value: float, low: float, example: str) -> None:
    if not (math.isfinite(value) and value >= low):
        raise _BadOptions(f"{option} {value:g} must be a number of at least {low:g}, {example}")


def _inputs(args: argparse.Namespace, target: float, within_s: float) -> dict[str, Any]:
    single = {} if args.forecast is not None else {"calls": args.calls, "aht_s": args.aht_s}
    return {
        "model": "erlang_c" if args.patience_s is None else "erlang_a",
        **single,
        "interval_s": args.interval_s,
        "target": target,
        "within_s": within_s,
        "max_occupancy": args.max_occupancy,
        "shrinkage": args.shrinkage,
        "patience_s": args.patience_s,
    }


def _pct(share: float) -> str:
    return f"{share * 100:.2f}%"


def _report(args: argparse.Namespace, target: float, within_s: float, s: Staffing) -> str:
    model = "Erlang C" if args.patience_s is None else "Erlang A"
    lines = [
        f"Agents needed: {s.agents}  ({model}; {s.traffic_erl:.2f} erlangs = {args.calls:g} "
        f"calls x {args.aht_s:g} s AHT / {args.interval_s:g} s)",
    ]
    if args.shrinkage:
        lines.append(f"Scheduled:     {s.scheduled}  (shrinkage {_pct(args.shrinkage)})")
    cap = f"  (at most {_pct(args.max_occupancy)})" if args.max_occupancy is not None else ""
    lines += [
        f"With {s.agents} agents:",
        f"  service level    {_pct(s.service_level):>8}  answered within {within_s:g} s "
        f"(target {_pct(target)})",
        f"  ASA              {s.asa_s:>7.2f} s",
        f"  P(wait)          {_pct(s.p_wait):>8}",
        f"  occupancy        {_pct(s.occupancy):>8}{cap}",
    ]
    if s.abandon_rate is not None and s.service_level_waiting is not None:
        lines += [
            f"  abandonment      {_pct(s.abandon_rate):>8}  (mean patience {args.patience_s:g} s)",
            f"  SL of waiting    {_pct(s.service_level_waiting):>8}  of those who wait, "
            f"answered within {within_s:g} s",
        ]
    return "\n".join(lines)


def _forecast(args: argparse.Namespace, target: float, within_s: float) -> int:
    try:
        with open(args.forecast, encoding="utf-8", newline="") as fh:
            rows = parse_forecast(fh)
    except OSError as exc:
        raise _BadOptions(f"cannot read --forecast {args.forecast}: {exc.strerror}") from None
    except ForecastError as exc:
        raise _BadOptions(f"{args.forecast} is not a forecast:\n{exc}") from None
    staffed = staff_rows(
        rows,
        interval_s=args.interval_s,
        target=target,
        within_s=within_s,
        max_occupancy=args.max_occupancy,
        shrinkage=args.shrinkage,
        patience_s=args.patience_s,
    )
    if args.json:
        intervals = [{**_row_inputs(r), **asdict(r.staffing)} for r in staffed]
        print(json.dumps({**_inputs(args, target, within_s), "intervals": intervals}, indent=2))
    else:
        print(_table(staffed, patience=args.patience_s is not None))
    return 0


def _row_inputs(r: StaffedRow) -> dict[str, Any]:
    row = r.row
    return {
        "interval_start": row.interval_start,
        "team": row.team,
        "calls": row.calls,
        "aht_s": row.aht_s,
    }


def _table(staffed: list[StaffedRow], *, patience: bool) -> str:
    head = list(_COLUMNS)
    if patience:
        head += ["abandon", "SL waiting"]
    body = []
    for r in staffed:
        s = r.staffing
        cells = [
            r.row.interval_start,
            r.row.team,
            f"{r.row.calls:g}",
            f"{r.row.aht_s:g}",
            f"{s.traffic_erl:.2f}",
            str(s.agents),
            str(s.scheduled),
            _pct(s.service_level),
            f"{s.asa_s:.2f}",
            _pct(s.p_wait),
            _pct(s.occupancy),
        ]
        if patience:
            cells += [_pct(s.abandon_rate or 0.0), _pct(s.service_level_waiting or 0.0)]
        body.append(cells)
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        for cells in [head, *body]
    ]
    peaks: dict[str, StaffedRow] = {}
    for r in staffed:
        best = peaks.get(r.row.team)
        if best is None or r.staffing.scheduled > best.staffing.scheduled:
            peaks[r.row.team] = r
    lines.append("")
    lines += [
        f"Peak {team}: {r.staffing.scheduled} scheduled at {r.row.interval_start}"
        for team, r in peaks.items()
    ]
    return "\n".join(lines)
