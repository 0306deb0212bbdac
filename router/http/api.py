"""The agent and supervisor HTTP API (JSON, ``Authorization: Bearer TOKEN``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels import SendFailed
from queues import (
    Contact,
    ContactNotFound,
    ContactState,
    InvalidTransition,
    NotHolder,
    StoreUnavailable,
)
from router.desk import DeskError
from router.http.context import AGENT, CONTEXT, Context
from router.identity import Agent
from router.routing import UnknownIncident

__all__ = ["add_routes", "contact_view", "error_middleware"]

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimBody(_Body):
    teams: list[str] | None = None
    wait_s: float = Field(default=0.0, ge=0, le=30)


class ReplyBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class ResolveBody(_Body):
    disposition: str = "solved"


class TransferBody(_Body):
    team: str


class IncidentBody(_Body):
    team: str = "*"
    text: str = Field(min_length=1, max_length=500)


def _error(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal is JSON with a reason; the store being down is 503 so clients retry."""
    structlog.contextvars.clear_contextvars()
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except StoreUnavailable as exc:
        log.warning("store_unavailable", error=str(exc))
        return _error(503, "the store is unavailable; try again shortly")
    except ContactNotFound as exc:
        return _error(404, str(exc))
    except NotHolder as exc:
        return _error(403, str(exc))
    except InvalidTransition as exc:
        return _error(409, str(exc), state=str(exc.state))
    except UnknownIncident as exc:
        return _error(404, str(exc).strip("'\""))
    except DeskError as exc:
        return _error(422, str(exc))
    except SendFailed as exc:
        return _error(502, str(exc), retryable=exc.retryable)


async def _body(request: web.Request, model: type[_Body]) -> Any:
    raw = await request.read()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"the body is not JSON: {exc}"}),
            content_type="application/json",
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": "; ".join(problems)}), content_type="application/json"
        ) from None


def require_agent(handler: Handler) -> Handler:
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


async def contact_view(ctx: Context, contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it: the record, the account (never its code), position."""
    view = contact.to_dict()
    account = ctx.accounts.find(contact.account) if contact.account else None
    view["account_info"] = account.public() if account else None
    view["position"] = None
    if contact.state is ContactState.WAITING:
        position = await ctx.store.position(contact.id)
        if position is not None:
            view["position"] = position.ahead + 1
    view["waited_s"] = (
        round((contact.assigned_at or ctx.clock()) - contact.queued_at, 3)
        if contact.queued_at is not None
        else None
    )
    return view


def _ctx(request: web.Request) -> tuple[Context, Agent]:
    return request.app[CONTEXT], request[AGENT]


@require_agent
async def get_queues(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    stats = await ctx.store.queue_stats(ctx.routing.teams)
    load = ctx.presence.load(ctx.routing.teams)
    return web.json_response(
        [
            {
                "team": s.team,
                "waiting": s.waiting,
                "assigned": s.assigned,
                "oldest_wait_s": s.oldest_wait_s,
                "agents_available": load[s.team].available,
                "agents_busy": load[s.team].busy,
            }
            for s in stats
        ]
    )


@require_agent
async def claim(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: ClaimBody = await _body(request, ClaimBody)
    got = await ctx.desk.claim(agent, body.teams, wait_s=body.wait_s)
    if got is None:
        return web.Response(status=204)
    contact = await ctx.store.get_contact(got.contact_id)
    return web.json_response(await contact_view(ctx, contact))


@require_agent
async def get_contact(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    contact = await ctx.store.get_contact(request.match_info["id"])
    return web.json_response(await contact_view(ctx, contact))


@require_agent
async def list_contacts(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    q = request.query
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        return _error(400, f"limit must be a whole number, not {q.get('limit')!r}")
    if not 1 <= limit <= 500:
        return _error(400, f"limit must be between 1 and 500, not {limit}")
    contacts = await ctx.store.list_contacts(
        channel=q.get("channel") or None,
        state=q.get("state") or None,
        team=q.get("team") or None,
        address=q.get("address") or None,
        limit=limit,
    )
    return web.json_response([c.to_dict() for c in contacts])


@require_agent
async def reply(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: ReplyBody = await _body(request, ReplyBody)
    sent = await ctx.desk.reply(agent, request.match_info["id"], body.text)
    return web.json_response(sent.to_dict())


@require_agent
async def heartbeat(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    lease = await ctx.desk.heartbeat(agent, request.match_info["id"])
    return web.json_response({"contact_id": lease.contact_id, "lease_until": lease.lease_until})


@require_agent
async def resolve(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: ResolveBody = await _body(request, ResolveBody)
    await ctx.desk.resolve(agent, request.match_info["id"], body.disposition)
    return web.json_response({"id": request.match_info["id"], "state": "resolved"})


@require_agent
async def transfer(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: TransferBody = await _body(request, TransferBody)
    await ctx.desk.transfer(agent, request.match_info["id"], body.team)
    return web.json_response(
        {"id": request.match_info["id"], "state": "waiting", "team": body.team}
    )


@require_agent
async def release(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    await ctx.desk.release(agent, request.match_info["id"])
    return web.json_response({"id": request.match_info["id"], "state": "waiting"})


@require_agent
async def stats(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    kpis = await ctx.kpis()
    return web.json_response(kpis)


@require_agent
async def open_incident(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: IncidentBody = await _body(request, IncidentBody)
    if body.team != "*" and body.team not in ctx.routing.teams:
        return _error(
            422,
            f"team {body.team!r} does not exist; use one of {', '.join(ctx.routing.teams)} or '*'",
        )
    incidents = await ctx.service.incidents.load()
    incidents, incident = incidents.open(body.team, body.text, at=ctx.clock())
    await ctx.service.incidents.save(incidents)
    log.info("incident_opened", incident_id=incident.id, team=body.team, by=agent.name)
    return web.json_response(incident.to_dict(), status=201)


@require_agent
async def list_incidents(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    incidents = await ctx.service.incidents.load()
    return web.json_response([i.to_dict() for i in incidents.items])


@require_agent
async def close_incident(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    incidents = await ctx.service.incidents.load()
    incidents = incidents.close(request.match_info["id"], at=ctx.clock())
    await ctx.service.incidents.save(incidents)
    log.info("incident_closed", incident_id=request.match_info["id"], by=agent.name)
    return web.json_response(incidents.get(request.match_info["id"]).to_dict())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/queues", get_queues)
    app.router.add_post("/api/claim", claim)
    app.router.add_get("/api/contacts", list_contacts)
    app.router.add_get("/api/contacts/{id}", get_contact)
    app.router.add_post("/api/contacts/{id}/reply", reply)
    app.router.add_post("/api/contacts/{id}/heartbeat", heartbeat)
    app.router.add_post("/api/contacts/{id}/resolve", resolve)
    app.router.add_post("/api/contacts/{id}/transfer", transfer)
    app.router.add_post("/api/contacts/{id}/release", release)
    app.router.add_get("/api/stats", stats)
    app.router.add_get("/api/incidents", list_incidents)
    app.router.add_post("/api/incidents", open_incident)
    app.router.add_delete("/api/incidents/{id}", close_incident)
