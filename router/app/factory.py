"""The composition root: the only place concrete classes are wired together."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import structlog
from aiohttp import web

from channels import ChannelAdapter, ContactListener, Outbox
from queues import Channel, Store, StoreUnavailable, now_s, stop_tasks
from router.app.services import (
    KPI_WINDOW_S,
    after_care,
    agent_desk,
    contact_service,
    courier,
    kpi_board,
)
from router.config import Config
from router.desk import Presence
from router.http import (
    CONTEXT,
    Context,
    add_complaints,
    add_health_routes,
    add_pages,
    add_privacy_routes,
    add_routes,
    body_limit,
    error_middleware,
)
from router.identity import AccountDirectory, AgentDirectory, load_demo, load_secret
from router.routing import BusinessHours, PriorityRules, Routing, SlaRules
from router.stats import Metrics

__all__ = [
    "DEMO_TOKENS",
    "KPI_WINDOW_S",
    "AdapterFactory",
    "build_context",
    "create_app",
    "routing_from_config",
]

log = structlog.get_logger(__name__)

#: The default largest request body (config: http.max_body_bytes); larger ones get 413.
MAX_BODY_BYTES = 1024 * 1024
DEMO_TOKENS = web.AppKey("demo_tokens", dict)
#: How often each process looks for accounts and agents another process wrote.
DIRECTORY_REFRESH_S = 1.0


def routing_from_config(config: Config) -> Routing:
    hours = {
        name: BusinessHours.from_spec(
            str(config.timezone),
            team.hours.as_spec(),
            country=team.holidays.country,
            extra=[str(d) for d in team.holidays.extra],
            closed_dates=[str(d) for d in team.holidays.closed_dates],
        )
        for name, team in config.teams.items()
    }
    priority = PriorityRules(
        channel=config.priority.channel.model_dump(),
        tier=dict(config.priority.tier),
        incident=config.priority.incident,
        complaint=config.priority.complaint,
    )
    sla = SlaRules(
        answer={str(ch): (a.threshold_s, a.target) for ch, a in config.sla.answer.items()},
        first_response_business_days={
            str(ch): d for ch, d in config.sla.first_response_business_days.items()
        },
        complaint_business_days=config.sla.complaint_business_days,
    )
    return Routing(
        teams=config.team_names,
        default_team=config.default_team,
        hours=hours,
        priority=priority,
        sla=sla,
    )


def build_context(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], float],
    outboxes: Mapping[Channel, Outbox],
    env: Mapping[str, str],
) -> Context:
    """Every component of the router, wired. The account and agent directories are empty
    until ``load_directories`` (the app does it at start)."""
    key = load_secret(env, config.data_path)
    accounts = AccountDirectory(store, key, tiers=config.priority.tier)
    agents = AgentDirectory(store, teams=config.team_names)
    routing = routing_from_config(config)
    presence = Presence(store, clock)
    board = kpi_board(config, store, presence, routing, clock)
    metrics = Metrics(board.snapshot)
    sender = courier(config, store, outboxes, clock)
    desk = agent_desk(config, store, presence, routing, metrics, courier=sender, clock=clock)
    sender.on_settled = desk.record
    service = contact_service(
        config,
        store,
        routing=routing,
        directories=(accounts, agents),
        presence=presence,
        desk=desk,
        metrics=metrics,
        key=key,
        clock=clock,
    )
    after_care(config, service, desk, sender, clock, accounts)
    return Context(
        config=config,
        store=store,
        service=service,
        desk=desk,
        courier=sender,
        agents=agents,
        accounts=accounts,
        presence=presence,
        routing=routing,
        metrics=metrics,
        clock=clock,
        kpis=board.current,
    )


async def load_directories(ctx: Context) -> dict[str, str]:
    """Load the accounts and agents from the store, importing the config's JSON files when
    the store has none yet (an older Switchboard kept them there), and add the config's
    demo entries; returns the demo agents' tokens.

    Demo tokens derive from a seed kept in the store, made by the first process to start:
    every process on the store issues the same tokens and a second start invalidates none.
    """
    config = ctx.config
    for directory, path in ((ctx.accounts, config.accounts.file), (ctx.agents, config.agents.file)):
        await directory.refresh()
        if not directory.all() and path.exists():
            count = await directory.import_file(path)
            log.info("directory_imported", kind=directory.kind, file=str(path), count=count)
    await load_demo(ctx.accounts, [a.model_dump() for a in config.accounts.demo])
    if not config.agents.demo:
        return {}
    seed = await _demo_seed(ctx.store)
    return await ctx.agents.load_demo([a.model_dump() for a in config.agents.demo], seed=seed)


async def _demo_seed(store: Store) -> bytes:
    made = {"seed": secrets.token_hex(16)}
    await store.put_doc("demo", "agent-tokens", made, tag="")  # the first process's wins
    kept, _ = await store.get_doc("demo", "agent-tokens")
    return str((kept or made)["seed"]).encode()


async def _refresh_directories(ctx: Context, interval_s: float) -> None:
    """Pick up accounts and agents other processes wrote (``switchboard agents add``)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await ctx.accounts.refresh()
            await ctx.agents.refresh()
        except StoreUnavailable as exc:
            log.warning("directory_refresh_failed", error=str(exc))


async def _reaper(ctx: Context, interval_s: float) -> None:
    while True:
        try:
            await ctx.desk.reap()
        except StoreUnavailable as exc:
            log.warning("reaper_store_unavailable", error=str(exc))
        await asyncio.sleep(interval_s)


AdapterFactory = Callable[[Context], Sequence[ChannelAdapter]]


def create_app(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], float] | None = None,
    outboxes: Mapping[Channel, Outbox] | None = None,
    adapters: AdapterFactory | None = None,
    env: Mapping[str, str] | None = None,
    reaper: bool = True,
    demo: bool = False,
) -> web.Application:
    """The HTTP app on an open ``store`` (the caller closes it).

    ``adapters`` builds the channel adapters from the wired context (default: the channels
    the config and environment enable); their routes are added now, their servers and
    workers start with the app, and their outboxes carry agent replies, with retries.
    """
    env = os.environ if env is None else env
    max_body = config.http.max_body_bytes  # every path; 413 past it (router.http.limits)
    app = web.Application(
        middlewares=[body_limit(max_body), error_middleware], client_max_size=max_body
    )
    ctx = build_context(config, store, clock=clock or now_s, outboxes=outboxes or {}, env=env)
    app[CONTEXT] = ctx
    app[DEMO_TOKENS] = {}  # filled at start (load_directories)
    if adapters is None:
        from router.app.wiring import default_adapters

        adapters = default_adapters(env, demo=demo)
    running = list(adapters(ctx))
    for adapter in running:
        adapter.add_routes(app)
        if adapter.outbox is not None:
            ctx.courier.senders[adapter.channel] = adapter.outbox
        if isinstance(adapter, ContactListener):
            ctx.desk.listeners[adapter.channel] = adapter.changed
    reaper_s = config.queues.reaper_interval_s if reaper else None
    app.cleanup_ctx.append(_lifecycle(ctx, running, reaper_s))
    add_health_routes(app)
    add_routes(app)
    add_pages(app)
    add_complaints(app, watch=reaper)  # /complaint, its API and the delay notices
    add_privacy_routes(app)  # a customer's export and erase (supervisors)
    return app


def _lifecycle(
    ctx: Context, running: Sequence[ChannelAdapter], reaper_s: float | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Load the directories, start the adapters, the lease reaper, the directories' refresh
    and the courier with the app; stop them, and the claims' wake-up listener, in reverse."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        started: list[ChannelAdapter] = []
        reaping: asyncio.Task[None] | None = None
        refreshing: asyncio.Task[None] | None = None
        try:
            app[DEMO_TOKENS].update(await load_directories(ctx))
            refreshing = asyncio.create_task(_refresh_directories(ctx, DIRECTORY_REFRESH_S))
            for adapter in running:
                await adapter.start()
                started.append(adapter)
            if reaper_s is not None:
                reaping = asyncio.create_task(_reaper(ctx, reaper_s))
            await ctx.courier.start()
            yield
        finally:
            if ctx.service.standing is not None:
                await ctx.service.standing.aclose()
            await ctx.courier.aclose()
            await stop_tasks(reaping, refreshing)
            await ctx.desk.aclose()
            for adapter in reversed(started):
                await adapter.aclose()

    return lifecycle
