"""Agent authentication: ``Authorization: Bearer TOKEN`` on every API handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from router.http.context import AGENT, CONTEXT

__all__ = ["require_agent"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require_agent(handler: Handler) -> Handler:
    """Answer 401 unless the request carries a valid agent token; bind the agent to logs."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        agent = ctx.agents.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if agent is None:
            return web.json_response(
                {"error": "a valid agent token is required: Authorization: Bearer TOKEN"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="switchboard"'},
            )
        request[AGENT] = agent
        structlog.contextvars.bind_contextvars(agent=agent.name)
        return await handler(request)

    return wrapped
