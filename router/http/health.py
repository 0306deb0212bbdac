"""Liveness, readiness and the Prometheus scrape: ``/healthz``, ``/readyz``, ``/metrics``."""

from __future__ import annotations

import contextlib

from aiohttp import web

from queues import StoreUnavailable
from router.http.context import CONTEXT
from router.stats import render

__all__ = ["add_health_routes"]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        await ctx.store.ping()
    except StoreUnavailable as exc:
        return web.json_response({"status": "unavailable", "store": str(exc)}, status=503)
    return web.json_response({"status": "ready", "store": "ok"})


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    # When the store is down the last snapshot stays; store_up tells the scraper.
    with contextlib.suppress(StoreUnavailable):
        await ctx.kpis()
    body, content_type = render(ctx.metrics)
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
