"""Liveness, readiness and the Prometheus scrape: ``/healthz``, ``/readyz``, ``/metrics``.

``/metrics`` is open unless ``http.metrics_token`` is set; then the scraper sends it as
``Authorization: Bearer TOKEN`` (Prometheus: ``authorization: {credentials: ...}``) and
anything else gets 401.
"""

from __future__ import annotations

import contextlib
import hmac

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


def _scraper_allowed(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    token = ctx.config.http.metrics_token
    if token is not None and not _scraper_allowed(request, token.get_secret_value()):
        return web.json_response(
            {"error": "the metrics token is required: Authorization: Bearer TOKEN"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="switchboard metrics"'},
        )
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
