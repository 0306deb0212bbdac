"""What the CLI's subcommands do, apart from parsing their arguments."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import sys

import structlog
from aiohttp import web

from queues import Store, StoreUnavailable, open_store
from queues.memory import MemoryStore
from router.app import (
    DEMO_TOKENS,
    THAW_EVERY_S,
    configure_logging,
    create_app,
    freeze_after_full_passes,
    freeze_start_up,
    log_long_passes,
)
from router.cli.nofile import WANTED, quiet_accept_errors, raise_open_files
from router.config import Config, HostPort
from router.http import CONTEXT
from router.identity import AccountDirectory, AccountError, AgentDirectory, AgentError, load_secret

__all__ = ["accounts", "agents", "call", "ivr", "run"]

log = structlog.get_logger(__name__)


def _host_port(text: str | None, default: str) -> tuple[str, int]:
    """``HOST:PORT``; ``:PORT`` keeps the host of ``default`` (``make run PORT=9090``)."""
    host, _, port = (text or default).rpartition(":")
    if not host and text and default:
        host = default.rpartition(":")[0]
    if not host or not port.isdigit():
        raise SystemExit(f"switchboard: {text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    return host.strip("[]"), int(port)


async def run(config: Config, *, http: str | None, smtp: str | None, demo: bool = False) -> int:
    """Serve until SIGINT/SIGTERM; print the URLs and the demo agents' tokens at start."""
    configure_logging()
    # One descriptor per connection: a chat, a webhook in flight, a console (nofile.py).
    before, files = raise_open_files()
    log.info("open_files_limit", before=before, now=files)
    quiet_accept_errors(asyncio.get_running_loop())
    host, port = _host_port(http, str(config.http.listen))
    if smtp:
        smtp_host, smtp_port = _host_port(smtp, str(config.channels.email.listen))
        channels = config.channels
        email = channels.email.model_copy(update={"listen": HostPort(smtp_host, smtp_port)})
        config = config.model_copy(
            update={"channels": channels.model_copy(update={"email": email})}
        )
    try:
        store = await open_store(config.store_url)
    except StoreUnavailable as exc:
        print(f"switchboard: the store is unavailable: {exc}", file=sys.stderr)
        return 1
    try:
        return await _serve(config, store, host, port, demo=demo)
    finally:
        await store.aclose()


async def _serve(config: Config, store: Store, host: str, port: int, *, demo: bool) -> int:
    app = create_app(config, store, demo=demo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        print(f"switchboard: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    ctx = app[CONTEXT]
    base = f"http://{host}:{port}"
    lines = [
        f"Switchboard is running (store: {_redacted(config.store_url)})",
        f"  agent console {base}/agent",
        f"  dashboard     {base}/dashboard",
        f"  customer chat {base}/chat",
        f"  complaints    {base}/complaint",
        f"  agent API     {base}/api/queues",
        f"  email (SMTP)  {config.channels.email.listen} for "
        + ", ".join(config.channels.email.addresses),
        f"  stats         {base}/api/stats",
        f"  metrics       {base}/metrics",
        f"  health        {base}/healthz  {base}/readyz",
    ]
    lines += _start_notes(config, base)
    lines += _files_note()
    tokens = app[DEMO_TOKENS]
    if tokens:
        lines.append("Demo agents (the same tokens for every process on this store):")
        for name, token in tokens.items():
            agent = ctx.agents.get(name)
            teams = ",".join(agent.teams) if agent else ""
            lines.append(f"  {name:<8} teams={teams:<35} token={token}")
        first = next(iter(tokens.items()))
        lines.append(f"Try: switchboard agent --token {first[1]}")
    print("\n".join(lines), flush=True)
    # What start-up made (modules, config, directories) lives as long as the process:
    # frozen, the collector's full passes skip it (without this each walks ~65,000 objects,
    # a 20 ms pause in whatever request is running: the p99 of /api/stats).
    freeze_start_up()
    stop_freezing = freeze_after_full_passes(
        asyncio.get_running_loop(),
        # Every contact is in the heap: its survivors are the store (collector.py).
        thaw_every_s=None if isinstance(store, MemoryStore) else THAW_EVERY_S,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop_timing = log_long_passes(loop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("router_stopping")
        stop_freezing()
        stop_timing()
        await runner.cleanup()
    return 0


def _start_notes(config: Config, base: str) -> list[str]:
    """What a newcomer must know at once: where clients find this router when it is not
    where the config says, and automatic mail replies that cannot go out."""
    from router.cli.where import URL_ENV, listen_url, router_url

    notes = []
    host, _, port = base.removeprefix("http://").rpartition(":")
    here = listen_url(host.strip("[]"), int(port))
    if router_url(config, None, os.environ) != here:
        notes.append(
            f"Clients (switchboard call, switchboard agent, curl) find it with: "
            f"export {URL_ENV}={here}"
        )
    email = config.channels.email
    if email.addresses and email.relay.host is None and email.auto_reply_per_hour > 0:
        log.warning(
            "email_auto_replies_unsent",
            reason="channels.email.relay.host is not set",
            auto_reply_per_hour=email.auto_reply_per_hour,
        )
        notes.append(
            "Automatic email replies are on (channels.email.auto_reply_per_hour: "
            f"{email.auto_reply_per_hour}) but no SMTP relay is set (channels.email.relay.host):"
            " they are not sent, nor are agents' email replies. Set the relay, or "
            "auto_reply_per_hour: 0."
        )
    return notes


def _files_note() -> list[str]:
    """A note when this process may open too few files for a busy day (``nofile.py``)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft >= WANTED:
        return []
    log.warning("open_files_limit_low", limit=soft, wanted=WANTED)
    return [
        f"Open files are limited to {soft} (the hard limit), and so are chats and webhooks"
        f" in flight at once: raise it to {WANTED} or more (LimitNOFILE= in a systemd unit,"
        " ulimit -Hn in a shell)."
    ]


def _redacted(url: str) -> str:
    from router.config import redact_url

    return redact_url(url)


async def _directory_store(config: Config, command: str) -> Store | None:
    """The store the router uses, opened for a directory command; None (said) when it
    cannot be reached or lives inside one process."""
    if config.store_url.startswith("memory:"):
        print(
            f"switchboard {command}: the memory store lives inside one `switchboard run`; "
            "use the sqlite or Redis store to manage accounts and agents",
            file=sys.stderr,
        )
        return None
    try:
        return await open_store(config.store_url)
    except StoreUnavailable as exc:
        print(f"switchboard {command}: {exc}", file=sys.stderr)
        return None


def _export(document: str, output: str) -> None:
    if output == "-":
        sys.stdout.write(document)
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(document)


async def accounts(config: Config, args: argparse.Namespace) -> int:
    """`switchboard accounts add|import|export`, on the router's store."""
    if args.action == "erase" or (args.action == "export" and args.login):
        from router.cli.privacy import customer_data  # one customer's data (router.privacy)

        return await customer_data(config, args)
    store = await _directory_store(config, "accounts")
    if store is None:
        return 1
    try:
        key = load_secret(os.environ, config.data_path)
        directory = AccountDirectory(store, key, tiers=config.priority.tier)
        await directory.refresh()
        if args.action == "add":
            services = [s.strip() for s in args.services.split(",") if s.strip()]
            account = directory.build(
                args.login,
                args.number,
                args.code,
                name=args.name,
                tier=args.tier,
                balance=args.balance,
                services=services,
                service_types=args.service_types,
                fees=args.fee,
            )
            await directory.add_all([account])
            print(f"added {account.login} (number {account.number}, tier {account.tier})")
        elif args.action == "import":
            if str(args.file).lower().endswith(".json"):
                count = await directory.import_file(args.file)
            else:
                count = await directory.import_csv(args.file)
            print(f"imported {count} accounts from {args.file}")
        else:
            _export(directory.dumps(directory.export()), args.output)
    except (AccountError, StoreUnavailable) as exc:
        print(f"switchboard accounts: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()
    return 0


async def agents(config: Config, args: argparse.Namespace) -> int:
    """`switchboard agents add|import|export`, on the router's store; ``add`` prints only
    the new token on stdout, so scripts can capture it."""
    store = await _directory_store(config, "agents")
    if store is None:
        return 1
    directory = AgentDirectory(store, teams=config.team_names)
    try:
        await directory.refresh()
        if args.action == "add":
            teams = [t.strip() for t in args.teams.split(",") if t.strip()]
            print(
                await directory.add(args.name, teams, phone=args.phone, client_identity=args.client)
            )
        elif args.action == "import":
            count = await directory.import_file(args.file)
            print(f"imported {count} agents from {args.file}")
        else:
            _export(directory.dumps(directory.export()), args.output)
    except (AgentError, StoreUnavailable) as exc:
        print(f"switchboard agents: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()
    return 0


def ivr(config: Config, args: argparse.Namespace) -> int:
    from ivr import check_book, to_dot, to_svg

    book = config.book
    if args.action == "check":
        problems = check_book(book)
        for problem in problems:
            print(f"{problem.level}: {problem.path}: {problem.message}")
        errors = sum(1 for p in problems if p.level == "error")
        print(
            f"{len(book.flows)} flows checked: {errors} errors, {len(problems) - errors} warnings"
        )
        return 1 if errors else 0
    flow = book.flows.get(args.flow)
    if flow is None:
        print(
            f"switchboard ivr graph: no flow {args.flow!r}; flows are {', '.join(book.flows)}",
            file=sys.stderr,
        )
        return 2
    text = to_svg(flow) if args.format == "svg" else to_dot(flow)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


async def call(config: Config, args: argparse.Namespace) -> int:
    """`switchboard call`: the IVR simulator, signing with the router's Twilio auth token."""
    from functools import partial

    from channels.twilio import sign
    from ivr.simulator import CliOptions, run_cli
    from router.app import twilio_auth_token
    from router.cli.where import router_url

    raise_open_files()  # a crowd's webhooks in flight are connections (nofile.py)
    # Without a configured token, the one `switchboard run --demo` uses.
    token = twilio_auth_token(config, os.environ, demo=True)
    assert token is not None  # demo=True always yields one
    public_url = config.http.public_url
    sid = config.channels.twilio.account_sid or os.environ.get("TWILIO_ACCOUNT_SID") or None
    api = _host_port(args.twilio_api, "") if args.twilio_api else None
    options = CliOptions(
        url=router_url(config, args.url, os.environ),
        from_number=args.from_number,
        to_number=args.to_number,
        press=args.press,
        max_hold_s=args.max_hold_s,
        json=args.json,
        calls=args.calls,
        concurrency=args.concurrency,
        rate=args.rate,
        speed=args.speed,
        signed_base=str(public_url) if public_url else None,
        twilio_api=api,
        account_sid=sid,
        callback=args.callback,
    )
    return await run_cli(options, sign=partial(sign, token), auth_token=token)
