"""A customer's data on request, for supervisors only (``agents.supervisors`` in
config.yaml; ``Authorization: Bearer TOKEN``):

- ``GET /api/accounts/{login}/export``: every contact of the account with its messages and
  events, and the account itself (without the code's HMAC), as one JSON document.
- ``POST /api/accounts/{login}/erase {"confirm": LOGIN}``: erase them (``router.privacy``):
  texts and addresses replaced, every count the KPIs read kept. 409 while one is open.
- ``GET /api/privacy/audit[?since=ISO-8601]``: the exports and erases, oldest first.
"""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import Field

from queues import from_iso
from router.http.auth import require_agent
from router.http.bodies import Body, read_body
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import error_response
from router.identity import Agent
from router.privacy import NoSuchCustomer, OpenContacts, Privacy

__all__ = ["add_privacy_routes"]

_LOGIN = re.compile(r"[a-z0-9._-]{3,64}")


class EraseBody(Body):
    #: The login again: an erase cannot be undone, so the request says what it erases twice.
    confirm: str = Field(min_length=1, max_length=64)


def _privacy(ctx: Context) -> Privacy:
    return Privacy(ctx.store, ctx.accounts, clock=ctx.clock)


def _refused(ctx: Context, agent: Agent) -> web.Response | None:
    if agent.name in ctx.config.agents.supervisors:
        return None
    return error_response(
        403,
        "only supervisors export or erase a customer's data; a supervisor is an agent named "
        "in agents.supervisors in config.yaml",
    )


def _asked(request: web.Request) -> tuple[Context, Agent, str] | web.Response:
    """The context, the supervisor and the login of a request, or why it is refused."""
    ctx, agent = request.app[CONTEXT], request[AGENT]
    refused = _refused(ctx, agent)
    if refused is not None:
        return refused
    login = request.match_info["login"].strip().lower()
    if not _LOGIN.fullmatch(login):
        return error_response(400, f"{login[:80]!r} is not a login; use 3-64 of a-z 0-9 . _ -")
    return ctx, agent, login


@require_agent
async def export(request: web.Request) -> web.StreamResponse:
    asked = _asked(request)
    if isinstance(asked, web.Response):
        return asked
    ctx, agent, login = asked
    try:
        document = await _privacy(ctx).export(login, by=agent.name, via="api")
    except NoSuchCustomer as exc:
        return error_response(404, str(exc))
    headers = {
        "Content-Disposition": f'attachment; filename="{login}-export.json"',
        "Cache-Control": "no-store",
    }
    return web.json_response(document, headers=headers)


@require_agent
async def erase(request: web.Request) -> web.StreamResponse:
    asked = _asked(request)
    if isinstance(asked, web.Response):
        return asked
    ctx, agent, login = asked
    body: EraseBody = await read_body(request, EraseBody)
    if body.confirm.strip().lower() != login:
        return error_response(422, f"confirm must repeat the login {login!r} to erase it")
    try:
        erased = await _privacy(ctx).erase(login, by=agent.name, via="api")
    except NoSuchCustomer as exc:
        return error_response(404, str(exc))
    except OpenContacts as exc:
        return error_response(409, str(exc), open=exc.contact_ids)
    return web.json_response(erased.to_dict())


@require_agent
async def audit(request: web.Request) -> web.StreamResponse:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    refused = _refused(ctx, agent)
    if refused is not None:
        return refused
    since_text = request.query.get("since", "")
    try:
        since = from_iso(since_text) if since_text else None
    except ValueError:
        return error_response(400, f"since must be an ISO 8601 time, not {since_text[:40]!r}")
    return web.json_response(list(await _privacy(ctx).audit_log(since=since)))


def add_privacy_routes(app: web.Application) -> None:
    app.router.add_get("/api/accounts/{login}/export", export)
    app.router.add_post("/api/accounts/{login}/erase", erase)
    app.router.add_get("/api/privacy/audit", audit)
