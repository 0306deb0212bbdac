"""The composition root: the only place concrete classes are wired together."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import structlog
from aiohttp import web

from channels import AgentTarget, ChannelAdapter, Outbox, RetryingOutbox
from ivr import Engine
from queues import Channel, Store, StoreUnavailable, now_s, to_iso
from router.config import Config
from router.contacts import ContactService
from router.desk import AgentDesk, Presence
from router.http import CONTEXT, Context, add_pages, add_routes, error_middleware
from router.identity import AccountDirectory, AgentDirectory, Verifier, load_demo, load_secret
from router.routing import BusinessHours, PriorityRules, Routing, SlaRules
from router.stats import OVERALL, Metrics, Snapshot, compute_kpis, overall_kpi, render

__all__ = [
    "DEMO_TOKENS",
    "KPI_WINDOW_S",
    "AdapterFactory",
    "build_context",
    "create_app",
    "routing_from_config",
]

log = structlog.get_logger(__name__)

KPI_WINDOW_S = 3600.0
#: Largest request body aiohttp reads (webhooks, API); larger requests get 413.
MAX_BODY_BYTES = 1024 * 1024
DEMO_TOKENS = web.AppKey("demo_tokens", dict)


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
) -> tuple[Context, dict[str, str]]:
    """Every component of the router, wired; also the demo agents' fresh tokens."""
    key = load_secret(env, config.data_path)
    accounts = AccountDirectory(config.accounts.file, key, tiers=config.priority.tier)
    load_demo(accounts, [a.model_dump() for a in config.accounts.demo])
    agents = AgentDirectory(config.agents.file, teams=config.team_names)
    demo_tokens = agents.load_demo([a.model_dump() for a in config.agents.demo])
    v = config.verification
    verifier = Verifier(
        accounts,
        store,
        key,
        max_failures=v.max_failures,
        window_s=v.window_s,
        lock_s=v.lock_s,
        address_max_failures=v.address_max_failures,
        address_window_s=v.address_window_s,
        clock=clock,
    )
    routing = routing_from_config(config)
    presence = Presence(clock)
    desk = AgentDesk(
        store=store,
        presence=presence,
        outboxes=outboxes,
        clock=clock,
        teams=routing.teams,
        dispositions=config.dispositions,
        lease_s=config.queues.lease_s,
    )
    service = ContactService(
        store=store,
        engine=Engine(config.book),
        routing=routing,
        verifier=verifier,
        accounts=accounts,
        presence=presence,
        clock=clock,
        default_language=config.languages.default,
        languages=config.languages.supported,
        session_ttl_s=config.queues.session_ttl_s,
        on_enqueued=desk.notify,
        agent_target=lambda name: _target(agents, name),
    )
    latest: list[Snapshot] = []
    metrics = Metrics(lambda: latest[-1] if latest else Snapshot((), False))
    thresholds = {str(ch): float(a.threshold_s) for ch, a in config.sla.answer.items()}

    async def kpis() -> dict[str, Any]:
        now = clock()
        try:
            events = await store.list_events(since=now - KPI_WINDOW_S - 86400)
            stats = await store.queue_stats(routing.teams)
        except StoreUnavailable:
            latest[:] = [Snapshot(latest[-1].kpis if latest else (), False)]
            raise
        load = presence.load(routing.teams)
        teams = compute_kpis(
            events, stats, now=now, window_s=KPI_WINDOW_S, thresholds_s=thresholds, agents=load
        )
        latest[:] = [Snapshot(teams, True)]
        total = overall_kpi(teams, agents=presence.total())
        return {
            "at": to_iso(now),
            "window_s": KPI_WINDOW_S,
            "teams": [t.to_dict() for t in teams],
            "overall": {**total.to_dict(), "team": OVERALL},
        }

    ctx = Context(
        config=config,
        store=store,
        service=service,
        desk=desk,
        agents=agents,
        accounts=accounts,
        presence=presence,
        routing=routing,
        metrics=metrics,
        clock=clock,
        kpis=kpis,
    )
    return ctx, demo_tokens


def _target(agents: AgentDirectory, name: str) -> AgentTarget | None:
    agent = agents.get(name)
    if agent is None:
        return AgentTarget(name)
    return AgentTarget(name, agent.phone, agent.client_identity)


async def _reaper(ctx: Context, interval_s: float) -> None:
    while True:
        try:
            await ctx.desk.reap()
        except StoreUnavailable as exc:
            log.warning("reaper_store_unavailable", error=str(exc))
        await asyncio.sleep(interval_s)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        await ctx.store.ping()
    except StoreUnavailable as exc:
        return web.json_response({"status": "unavailable", "store": str(exc)}, status=503)
    return web.json_response({"status": "ready", "store": "ok"})


async def metrics_handler(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    # When the store is down the last snapshot stays; store_up tells the scraper.
    with contextlib.suppress(StoreUnavailable):
        await ctx.kpis()
    body, content_type = render(ctx.metrics)
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


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
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    ctx, tokens = build_context(
        config,
        store,
        clock=clock or now_s,
        outboxes=outboxes or {},
        env=os.environ if env is None else env,
    )
    app[CONTEXT] = ctx
    app[DEMO_TOKENS] = tokens
    if adapters is None:
        from router.app.wiring import default_adapters

        adapters = default_adapters(os.environ if env is None else env, demo=demo)
    running = list(adapters(ctx))
    for adapter in running:
        adapter.add_routes(app)
        if adapter.outbox is not None:
            ctx.desk.outboxes[adapter.channel] = RetryingOutbox(adapter.outbox)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        started: list[ChannelAdapter] = []
        task = None
        try:
            for adapter in running:
                await adapter.start()
                started.append(adapter)
            if reaper:
                task = asyncio.create_task(_reaper(ctx, config.queues.reaper_interval_s))
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for adapter in reversed(started):
                await adapter.aclose()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    add_routes(app)
    add_pages(app)
    return app
