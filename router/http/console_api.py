"""API endpoints the web pages need beyond the agent API (``Authorization: Bearer TOKEN``).

- ``GET /api/me``: who the token belongs to, the teams, dispositions and lease length, the
  capacity per channel and the load (contacts held or wrapping up, per channel).
- ``POST /api/presence {"status": "available"|"break", "teams": [...]}``.
- ``GET /api/stats/history``: the last hour as series (what the charts draw).
- ``GET /api/charts/{contacts|waiting|service_level}.svg``: the dashboard's charts.
- ``POST /api/contacts/{id}/typing``: the agent is typing (shown in a web chat customer's page).
- ``GET|POST /api/incidents/{id}/compensation``: outage compensation (``compensation_api``).
- ``GET /api/contacts/{id}/timeline``, ``POST .../notes``, ``PUT .../tags``: a customer's
  timeline (``timeline_api``); ``/api/canned``: canned replies (``canned_api``).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from aiohttp import web

from channels.webchat import agent_typing
from queues import NO_TEAM, Channel, ContactState, NotHolder, to_iso
from router.http.auth import require_agent
from router.http.bodies import PresenceBody, read_body
from router.http.canned_api import add_canned_routes
from router.http.compensation_api import add_compensation_routes
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import error_response
from router.http.timeline_api import add_timeline_routes
from router.identity import Agent
from router.stats import (
    Buckets,
    Series,
    arrivals_from_buckets,
    clock_labels,
    line_chart,
    service_level_from_buckets,
    stacked_bars,
    to_json,
    waiting_from_buckets,
)

__all__ = ["CHARTS", "HISTORY", "HistoryCache", "add_api_routes", "history"]

WINDOW_S = 3600.0
BAR_STEP_S = 300.0
WAIT_STEP_S = 60.0
CHANNEL_LABELS = {
    "voice": "Voice",
    "sms": "SMS",
    "email": "Email",
    "chat": "Chat",
    "telegram": "Telegram",
}
CHARTS = ("contacts", "waiting", "service_level")


def team_label(ctx: Context, team: str) -> str:
    names = ctx.config.teams[team].names if team in ctx.config.teams else {}
    return str(names.get("en") or names.get(ctx.config.languages.default) or team)


@require_agent
async def me(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    status = await ctx.presence.status(agent.name)
    return web.json_response(
        {
            **agent.public(),
            "status": str(status) if status else None,
            "now": to_iso(ctx.clock()),
            "all_teams": [{"name": t, "label": team_label(ctx, t)} for t in ctx.routing.teams],
            "dispositions": list(ctx.config.dispositions),
            "lease_s": ctx.config.queues.lease_s,
            "languages": list(ctx.config.languages.supported),
            **await _capacity(ctx, agent),
        }
    )


async def _capacity(ctx: Context, agent: Agent) -> dict[str, Any]:
    """How many contacts of each channel the agent may hold, and holds (with wrap-ups)."""
    capacity = ctx.desk.capacity
    return {
        "capacity": capacity.to_dict() if capacity is not None else None,
        "load": await ctx.desk.load(agent),
    }


@require_agent
async def presence(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    body = await read_body(request, PresenceBody)
    teams = body.teams or list(agent.teams)
    wrong = [t for t in teams if t not in agent.teams]
    if wrong:
        return error_response(
            422,
            f"agent {agent.name!r} does not serve {', '.join(wrong)}; "
            f"they serve {', '.join(agent.teams)}",
        )
    await ctx.presence.seen(agent.name, teams, status=body.status)
    return web.json_response({"name": agent.name, "status": str(body.status), "teams": teams})


async def history(ctx: Context) -> dict[str, Any]:
    """The last hour: arrivals per 5 min by channel, waiting per minute by team, service
    level per 5 min. Labels are local ``HH:MM`` of each bucket's start (or sample time).
    Read from the store's minute buckets: the cost does not grow with the day's events."""
    now = ctx.clock()
    teams = [*ctx.routing.teams, NO_TEAM]
    counted = await ctx.store.minute_buckets(teams, since=now - WINDOW_S, until=now)
    stats = await ctx.store.queue_stats(ctx.routing.teams)
    zone = str(ctx.config.timezone)
    buckets = Buckets.covering(now, window_s=WINDOW_S, step_s=BAR_STEP_S)
    times = [now - WINDOW_S + WAIT_STEP_S * i for i in range(int(WINDOW_S / WAIT_STEP_S) + 1)]
    thresholds = ctx.config.sla.thresholds_s
    targets = [a.target for a in ctx.config.sla.answer.values()]
    return {
        "at": now,
        "contacts": to_json(
            clock_labels(buckets.starts, zone), arrivals_from_buckets(counted, buckets)
        ),
        "waiting": to_json(
            clock_labels(times, zone),
            waiting_from_buckets(counted, {s.team: s.waiting for s in stats}, now=now, times=times),
        ),
        "service_level": {
            **to_json(
                clock_labels(buckets.starts, zone),
                {"*": service_level_from_buckets(counted, buckets, thresholds_s=thresholds)},
            ),
            "target": max(targets) if targets else None,
        },
    }


class HistoryCache:
    """The last history computed, reused for ``ttl_s``: a dashboard asks for its three
    charts at once, and each would otherwise read the hour's buckets again."""

    def __init__(self, ttl_s: float = 2.0) -> None:
        self.ttl_s = ttl_s
        self._lock = asyncio.Lock()
        self._at = -math.inf
        self._data: dict[str, Any] | None = None

    async def get(self, ctx: Context) -> dict[str, Any]:
        async with self._lock:
            now = asyncio.get_running_loop().time()
            if self._data is None or now - self._at >= self.ttl_s:
                self._data = await history(ctx)
                self._at = now
            return self._data


HISTORY = web.AppKey("history_cache", HistoryCache)


@require_agent
async def stats_history(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HISTORY].get(request.app[CONTEXT]))


def render_chart(ctx: Context, name: str, data: dict[str, Any]) -> str:
    part = data[name]
    labels = part["labels"]
    if name == "contacts":
        series = [
            Series(ch, tuple(v), CHANNEL_LABELS.get(ch, ch)) for ch, v in part["series"].items()
        ]
        return stacked_bars("Contacts per 5 minutes by channel", labels, series)
    if name == "waiting":
        series = [
            Series(team, tuple(v), team_label(ctx, team)) for team, v in part["series"].items()
        ]
        return line_chart("Waiting over time", labels, series)
    return line_chart(
        "Service level per 5 minutes",
        labels,
        [Series("service_level", tuple(part["series"]["*"]), "Service level")],
        percent=True,
        target=part["target"],
        empty="Nothing answered in the last hour",
    )


@require_agent
async def chart(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    name = request.match_info["name"]
    if name not in CHARTS:
        return error_response(404, f"no chart {name!r}; charts are {', '.join(CHARTS)}")
    svg = render_chart(ctx, name, await request.app[HISTORY].get(ctx))
    return web.Response(
        text=svg,
        content_type="image/svg+xml",
        headers={
            "Content-Security-Policy": "default-src 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@require_agent
async def typing(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    contact = await ctx.store.get_contact(request.match_info["id"], messages=False)
    if contact.agent != agent.name or contact.state is not ContactState.ASSIGNED:
        raise NotHolder(contact.id, agent.name)
    if contact.channel is Channel.CHAT:  # the other channels have no way to show it
        await agent_typing(ctx.store, contact.address, author=agent.name)
    return web.Response(status=204)


def add_api_routes(app: web.Application) -> None:
    app[HISTORY] = HistoryCache()
    app.router.add_get("/api/me", me)
    app.router.add_post("/api/presence", presence)
    app.router.add_get("/api/stats/history", stats_history)
    app.router.add_get("/api/charts/{name}.svg", chart)
    app.router.add_post("/api/contacts/{id}/typing", typing)
    add_compensation_routes(app)
    add_timeline_routes(app)  # a customer's timeline, notes and tags
    add_canned_routes(app)  # canned replies
