"""The `switchboard` command line (ARCHITECTURE.md, "External contract")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TypeAlias

from router.config import Config, ConfigError, load_config

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Multichannel contact-centre router with an IVR simulator.",
    )
    config_opt = argparse.ArgumentParser(add_help=False)
    config_opt.add_argument(
        "-c", "--config", default="config.yaml", help="config file (default: %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_run, _accounts, _agents, _call, _ivr, _staff, _simulate):
        add(sub, config_opt)
    return parser


Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_URL_HELP = "the router (default: $SWITCHBOARD_URL, else http://HOST:PORT of http.listen)"


def _run(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard run"""
    run = sub.add_parser("run", parents=[config_opt], help="start the router")
    run.add_argument(
        "--http",
        help="HOST:PORT for HTTP, or :PORT on the configured host (default: http.listen, "
        "127.0.0.1:8080)",
    )
    run.add_argument("--smtp", help="HOST:PORT for SMTP, or :PORT (default: channels.email.listen)")
    run.add_argument("--store", help="memory://, sqlite:///path.db or redis://host:port/db")
    run.add_argument(
        "--demo",
        action="store_true",
        help="generate local webhook secrets under the data dir when none are set",
    )


def _accounts(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard accounts add|import|export [LOGIN]|erase LOGIN"""
    accounts = sub.add_parser("accounts", parents=[config_opt], help="the account directory")
    acc = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = acc.add_parser("add", parents=[config_opt], help="add one account")
    add.add_argument("login")
    add.add_argument("--number", required=True, help="customer number (digits)")
    add.add_argument("--code", required=True, help="auth code (4-8 digits); stored only as HMAC")
    add.add_argument("--name", default="")
    add.add_argument("--tier", default="residential")
    add.add_argument("--balance", default="0.00")
    add.add_argument("--services", default="", help="comma-separated")
    add.add_argument(
        "--service-types",
        default="",
        help="for outage compensation: comma-separated universal, telephone, internet "
        "(default: what --services imply, e.g. internet-300 is internet)",
    )
    add.add_argument(
        "--fee",
        action="append",
        default=[],
        metavar="TYPE:YYYY-MM=PLN",
        help="a monthly fee billed, e.g. internet:2026-11=59.99 (repeat for each period)",
    )
    imp = acc.add_parser("import", parents=[config_opt], help="import accounts (CSV or JSON)")
    imp.add_argument(
        "file",
        help="CSV: login,number,code,name,tier,balance,services[,service_types,fees]; "
        "or a JSON export (.json)",
    )
    exp = acc.add_parser(
        "export",
        parents=[config_opt],
        help="export accounts as JSON; with LOGIN, all of one customer's contacts and messages",
    )
    exp.add_argument(
        "login", nargs="?", default=None, help="a customer's login: their data (audited)"
    )
    exp.add_argument("-o", "--output", default="-", help="file (mode 0600), - for stdout")
    erase = acc.add_parser(
        "erase",
        parents=[config_opt],
        help="erase a customer's messages and addresses (KPI counts stay; audited)",
        description="Replace the texts and addresses of every contact of LOGIN, keeping what "
        "the KPIs count. Without --yes it only says what it would erase. Exit status: 0 "
        "done, 1 refused (contacts still open, unknown login, store down), 2 without --yes.",
    )
    erase.add_argument("login")
    erase.add_argument("--yes", action="store_true", help="erase for good (cannot be undone)")


def _agents(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard agents add|import|export, and switchboard agent (the terminal client)"""
    agents = sub.add_parser("agents", parents=[config_opt], help="agents and their tokens")
    ag = agents.add_subparsers(dest="action", required=True, metavar="ACTION")
    agadd = ag.add_parser("add", parents=[config_opt], help="add an agent; prints its token")
    agadd.add_argument("name")
    agadd.add_argument("--teams", required=True, help="comma-separated teams")
    agadd.add_argument("--phone", default=None, help="number the voice channel dials")
    agadd.add_argument("--client", default=None, help="Twilio Client identity to dial")
    agimp = ag.add_parser("import", parents=[config_opt], help="import agents (a JSON export)")
    agimp.add_argument("file")
    agexp = ag.add_parser("export", parents=[config_opt], help="export agents as JSON")
    agexp.add_argument("-o", "--output", default="-", help="file (mode 0600), - for stdout")

    agent = sub.add_parser("agent", parents=[config_opt], help="terminal agent client")
    agent.add_argument("--teams", default=None, help="comma-separated (default: all yours)")
    agent.add_argument("--url", default=None, help=_URL_HELP)
    agent.add_argument("--token", default=None, help="agent token (or SWITCHBOARD_TOKEN)")


def _call(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard call: the IVR simulator"""
    call = sub.add_parser(
        "call",
        parents=[config_opt],
        help="the IVR simulator: call the voice IVR as Twilio would",
        description="Call the voice IVR as Twilio would: keypad in the terminal, or --press. "
        "Exit status: 0 connected to an agent, 1 error, 2 bad options, 3 ended without an "
        "agent (many calls: 0 when none failed).",
    )
    call.add_argument("--url", default=None, help=_URL_HELP)
    call.add_argument("--from", dest="from_number", default="+48500100200", help="caller number")
    call.add_argument("--to", dest="to_number", default="+48221234567", help="number called")
    call.add_argument(
        "--press",
        default=None,
        help='answers to successive prompts: "2 1001# 482913# 2"; - is silence',
    )
    call.add_argument("--max-hold-s", type=float, default=None, help="hang up after S s on hold")
    call.add_argument("--json", action="store_true", help="print the whole call as JSON")
    call.add_argument("--calls", type=int, default=1, help="place N calls (needs --press)")
    call.add_argument("--concurrency", type=int, default=1, help="calls at once (with --calls)")
    call.add_argument(
        "--rate",
        type=float,
        default=None,
        help="start N calls a second (with --calls; default: all at once)",
    )
    call.add_argument("--speed", type=float, default=1.0, help="run pauses and timeouts faster")
    call.add_argument(
        "--twilio-api",
        default=None,
        metavar="HOST:PORT",
        help="serve a stand-in for Twilio's REST API there (point channels.twilio.api_base_url "
        "at it): the router's claims redirect the simulated calls on hold",
    )
    call.add_argument(
        "--callback",
        action="store_true",
        help="press 1 on hold to be called back (own number), hang up, then answer the "
        "router's call back and talk to the agent (needs --twilio-api; waits --max-hold-s)",
    )


def _ivr(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard ivr check|graph"""
    ivr = sub.add_parser("ivr", parents=[config_opt], help="lint and draw the flows")
    iv = ivr.add_subparsers(dest="action", required=True, metavar="ACTION")
    iv.add_parser("check", parents=[config_opt], help="lint the flows")
    graph = iv.add_parser("graph", parents=[config_opt], help="draw a flow")
    graph.add_argument("--format", choices=["svg", "dot"], default="svg")
    graph.add_argument("--flow", default="voice")
    graph.add_argument("-o", "--output", default="-", help="file (default: stdout)")


def _staff(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard staff: Erlang C / Erlang A staffing"""
    from router.cli.staff import add_arguments

    staff = sub.add_parser(
        "staff",
        parents=[config_opt],
        help="agents needed for a number of calls (Erlang C, or Erlang A with --patience-s)",
        description="The fewest agents meeting a service-level target, and for that number "
        "the service level, ASA, probability of waiting and occupancy. Exit status: 0 done, "
        "2 bad options or a bad forecast.",
    )
    add_arguments(staff)


def _simulate(sub: Sub, config_opt: argparse.ArgumentParser) -> None:
    """switchboard simulate: a day of traffic through the real queue, on a virtual clock"""
    from router.cli.simulate import add_arguments

    simulate = sub.add_parser(
        "simulate",
        parents=[config_opt],
        help="simulate a day of contacts through the real queue, routing and hours",
        description="A discrete-event simulation of a day (the config's simulate: section, "
        "or a steady --calls-per-hour load) through the real queue, routing policy and "
        "business hours on a virtual clock; reports contacts, service level, ASA, "
        "abandonment, occupancy and the longest wait per interval. Exit status: 0 done, "
        "2 bad options.",
    )
    add_arguments(simulate)


def _config(path: str) -> Config:
    return load_config(path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "staff":  # a calculator: it reads the config only for defaults
        from router.cli.staff import staff

        return staff(args)
    try:
        config = _config(args.config)
    except ConfigError as exc:
        print(f"switchboard: {args.config} is not valid:\n{exc}", file=sys.stderr)
        return 2
    try:
        return _dispatch(args, config)
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from router.cli import commands

    if args.command == "run":
        if args.store:
            config = config.with_store(args.store)
        return asyncio.run(commands.run(config, http=args.http, smtp=args.smtp, demo=args.demo))
    if args.command == "accounts":
        return asyncio.run(commands.accounts(config, args))
    if args.command == "agents":
        return asyncio.run(commands.agents(config, args))
    if args.command == "agent":
        token = args.token or os.environ.get("SWITCHBOARD_TOKEN")
        if not token:
            print("switchboard agent: give --token or set SWITCHBOARD_TOKEN", file=sys.stderr)
            return 2
        teams = args.teams.split(",") if args.teams else None
        from router.cli.terminal import run_agent
        from router.cli.where import router_url

        return asyncio.run(run_agent(router_url(config, args.url, os.environ), token, teams))
    if args.command == "ivr":
        return commands.ivr(config, args)
    if args.command == "call":
        return asyncio.run(commands.call(config, args))
    if args.command == "simulate":
        from router.cli.simulate import simulate

        return simulate(config, args)
    return 2
