"""``switchboard simulate``: a day of contacts through the real queue on a virtual clock.

Two kinds of day: a steady load on one team (``--calls-per-hour`` with ``--aht-s``,
``--agents``, ``--team``: an M/M/N day, M/M/N+M with ``--patience-s``), or the config's
``simulate:`` day (its profile, or a forecast CSV's intervals with ``--profile``; its shifts;
``--outage`` adds its outage). Prints a table per interval (``--json``: the report as JSON);
``--svg FILE`` draws waiting, service level and agents per interval.

Exit status: 0 done, 2 bad options, a bad profile or no ``simulate:`` section to play.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date, datetime
from pathlib import Path

from queues import Channel
from router.app import routing_from_config
from router.config import Config
from router.routing import Routing
from router.simulate import (
    Report,
    Scenario,
    day_scenario,
    first_working_day,
    render_svg,
    render_text,
    steady_scenario,
    to_json,
)
from router.simulate import simulate as run_simulation
from router.staffing import COLUMNS, ForecastError, parse_forecast

__all__ = ["add_arguments", "simulate"]

_PROG = "switchboard simulate"
HANDLES = ("exponential", "lognormal")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``switchboard simulate``."""
    steady = parser.add_argument_group("a steady load on one team (instead of the config's day)")
    steady.add_argument("--calls-per-hour", type=float, help="Poisson arrivals per hour")
    steady.add_argument("--aht-s", type=float, help="average handle time, seconds")
    steady.add_argument("--agents", type=int, help="agents serving the team all along")
    steady.add_argument("--team", help="the team (default: the config's default_team)")
    steady.add_argument(
        "--channel", default="voice", choices=[str(c) for c in Channel], help="(%(default)s)"
    )
    day = parser.add_argument_group("the config's simulate: day")
    day.add_argument(
        "--profile",
        metavar="FILE.csv",
        help=f"arrivals from a forecast CSV ({','.join(COLUMNS)}) instead of the profile",
    )
    day.add_argument("--outage", action="store_true", help="add the configured outage spike")
    parser.add_argument(
        "--date", type=date.fromisoformat, help="YYYY-MM-DD (default: the next working day)"
    )
    parser.add_argument(
        "--hours", type=float, help="hours simulated (default: steady 8, else the config's)"
    )
    parser.add_argument(
        "--patience-s", type=float, help="customers' mean patience (exponential), every channel"
    )
    parser.add_argument("--handle", choices=HANDLES, help="handle time distribution")
    parser.add_argument("--interval-s", type=int, help="report interval (default 1800)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed, the same day (1)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--svg", metavar="FILE", help="draw the day as SVG into FILE")


class _Refused(Exception):
    """Options that do not make a day; the message says why."""


def _positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise _Refused(f"{name} {value:g} must be more than 0")


def _steady(config: Config, routing: Routing, args: argparse.Namespace, day: date) -> Scenario:
    if args.profile or args.outage:
        raise _Refused("--profile and --outage play the config's day; drop --calls-per-hour")
    if args.agents is None or args.agents < 1:
        raise _Refused("--calls-per-hour needs --agents N (1 or more)")
    team = args.team or config.default_team
    if team not in routing.teams:
        raise _Refused(f"team {team!r} does not exist; teams are {', '.join(routing.teams)}")
    spec = config.simulate.teams.get(team) if config.simulate else None
    aht_s = args.aht_s or (spec.aht_s if spec else None)
    if aht_s is None:
        raise _Refused("--calls-per-hour needs --aht-s S (the config's day does not give one)")
    return steady_scenario(
        routing,
        team=team,
        day=day,
        calls_per_hour=args.calls_per_hour,
        aht_s=aht_s,
        agents=args.agents,
        hours=args.hours or 8.0,
        channel=args.channel,
        interval_s=args.interval_s or 1800,
        handle=args.handle or "exponential",
        patience_s=args.patience_s,
        lease_s=config.queues.lease_s,
    )


def _day(config: Config, routing: Routing, args: argparse.Namespace, day: date) -> Scenario:
    if args.agents is not None or args.aht_s is not None or args.team is not None:
        raise _Refused("--agents, --aht-s and --team go with --calls-per-hour")
    sim = config.simulate
    if sim is None:
        raise _Refused(
            "the config has no simulate: section; add one (see the shipped config.yaml) "
            "or give --calls-per-hour, --aht-s and --agents"
        )
    if args.outage and sim.outage is None:
        raise _Refused("--outage: the config's simulate: section has no outage: to add")
    forecast = None
    if args.profile:
        try:
            with open(args.profile, encoding="utf-8", newline="") as lines:
                forecast = parse_forecast(lines)
        except OSError as exc:
            raise _Refused(f"cannot read {args.profile}: {exc.strerror or exc}") from None
        except ForecastError as exc:
            raise _Refused(f"{args.profile}:\n{exc}") from None
    return day_scenario(
        sim,
        routing,
        day=day,
        timezone=str(config.timezone),
        outage=args.outage,
        forecast=forecast,
        interval_s=args.interval_s,
        hours=args.hours,
        handle=args.handle,
        patience_s=args.patience_s,
        lease_s=config.queues.lease_s,
    )


def _scenario(config: Config, args: argparse.Namespace) -> tuple[Scenario, Routing]:
    for name in ("calls_per_hour", "aht_s", "hours", "patience_s"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    if args.interval_s is not None and (args.interval_s < 60 or args.interval_s % 60):
        raise _Refused(f"--interval-s {args.interval_s} must be whole minutes (60, 900, 1800)")
    routing = routing_from_config(config)
    team = args.team if args.team in routing.teams else config.default_team
    today = datetime.now(config.timezone).date()
    day = args.date or first_working_day(routing, team, today)
    try:
        if args.calls_per_hour is not None:
            return _steady(config, routing, args, day), routing
        return _day(config, routing, args, day), routing
    except ValueError as exc:
        raise _Refused(str(exc)) from None


def _title(args: argparse.Namespace, config: Config, scenario: Scenario) -> str:
    if args.calls_per_hour is not None:
        team = args.team or config.default_team
        agents = sum(s.agents for s in scenario.shifts)
        return (
            f"Simulated steady load ({args.calls_per_hour:g} {args.channel} contacts/h "
            f"on {team}, {agents} agents)"
        )
    if args.outage and config.simulate and config.simulate.outage:
        outage = config.simulate.outage
        hours = ", ".join(str(r) for r in outage.hours)
        return (
            f"Simulated outage day (+{outage.contacts_per_hour:g} contacts/h "
            f"on {outage.team} {hours})"
        )
    return "Simulated day"


def simulate(config: Config, args: argparse.Namespace) -> int:
    """Run ``switchboard simulate``; returns the exit status."""
    try:
        scenario, routing = _scenario(config, args)
    except _Refused as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    report: Report = asyncio.run(run_simulation(scenario, routing, seed=args.seed))
    took_s = time.perf_counter() - began
    title = _title(args, config, scenario)
    if args.svg:
        Path(args.svg).write_text(render_svg(report, title=title), encoding="utf-8")
    if args.json:
        sys.stdout.write(to_json(report))
    else:
        sys.stdout.write(render_text(report, title=title))
    contacts = report.day.desk.contacts
    print(f"{_PROG}: {contacts:,} contacts simulated in {took_s:.2f} s", file=sys.stderr)
    return 0
