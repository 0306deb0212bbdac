"""The agent and supervisor HTTP API (JSON, ``Authorization: Bearer TOKEN``)."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from queues import Contact, to_iso
from router.http.access import may_read, readable, refusal
from router.http.auth import require_agent
from router.http.bodies import (
    ClaimBody,
    CloseIncidentBody,
    IncidentBody,
    NotifyBody,
    ReplyBody,
    ResolveBody,
    TransferBody,
    read_body,
)
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import error_response
from router.http.views import contact_view, queue_depths
from router.identity import Agent
from router.outages import NoSuchSuggestion
from router.routing import Incidents

__all__ = ["add_routes"]

log = structlog.get_logger(__name__)


def _ctx(request: web.Request) -> tuple[Context, Agent]:
    return request.app[CONTEXT], request[AGENT]


@require_agent
async def get_queues(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    return web.json_response(await queue_depths(ctx))


@require_agent
async def claim(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: ClaimBody = await read_body(request, ClaimBody)
    got = await ctx.desk.claim(agent, body.teams, wait_s=body.wait_s)
    if got is None:
        return web.Response(status=204)
    contact = await ctx.store.get_contact(got.contact_id)
    return web.json_response(await contact_view(ctx, contact))


@require_agent
async def get_contact(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    contact = await ctx.store.get_contact(request.match_info["id"])
    if not may_read(agent, contact, ctx.config.agents.supervisors, ctx.routing.teams):
        return error_response(403, refusal(agent, contact))
    return web.json_response(await contact_view(ctx, contact))


@require_agent
async def list_contacts(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    q = request.query
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        return error_response(400, f"limit must be a whole number, not {q.get('limit')!r}")
    if not 1 <= limit <= 500:
        return error_response(400, f"limit must be between 1 and 500, not {limit}")
    contacts = await readable(  # only what the agent may read (router.http.access)
        ctx.store,
        agent,
        ctx.config.agents.supervisors,
        ctx.routing.teams,
        channel=q.get("channel") or None,
        state=q.get("state") or None,
        team=q.get("team") or None,
        address=q.get("address") or None,
        account=q.get("account") or None,  # a customer's contacts (index by account)
        limit=limit,
    )
    if isinstance(contacts, str):
        return error_response(403, contacts)
    # The list carries no messages (GET /api/contacts/{id} has them): an empty list there
    # would say something untrue about a contact that has messages.
    return web.json_response([_listed(c) for c in contacts])


def _listed(contact: Contact) -> dict[str, Any]:
    view = contact.to_dict()
    del view["messages"]
    return view


@require_agent
async def reply(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: ReplyBody = await read_body(request, ReplyBody)
    sent = await ctx.desk.reply(agent, request.match_info["id"], body.text)
    return web.json_response(sent.to_dict())


@require_agent
async def heartbeat(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    lease = await ctx.desk.heartbeat(agent, request.match_info["id"])
    # ISO 8601, as every time in a contact is.
    return web.json_response(
        {"contact_id": lease.contact_id, "lease_until": to_iso(lease.lease_until)}
    )


@require_agent
async def resolve(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: ResolveBody = await read_body(request, ResolveBody)
    await ctx.desk.resolve(agent, request.match_info["id"], body.disposition)
    return web.json_response({"id": request.match_info["id"], "state": "resolved"})


@require_agent
async def transfer(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: TransferBody = await read_body(request, TransferBody)
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


def _languages_known(ctx: Context, text: object) -> str | None:
    """Why a per-language text cannot be used (a language not shipped), or None."""
    if not isinstance(text, dict):
        return None
    unknown = sorted(set(text) - set(ctx.config.languages.supported))
    if unknown:
        return (
            f"text names languages {unknown} that are not supported; use "
            f"{', '.join(ctx.config.languages.supported)}"
        )
    return None


@require_agent
async def open_incident(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: IncidentBody = await read_body(request, IncidentBody)
    if body.team is not None and body.team != "*" and body.team not in ctx.routing.teams:
        return error_response(
            422,
            f"team {body.team!r} does not exist; use one of {', '.join(ctx.routing.teams)} or '*'",
        )
    problem = _languages_known(ctx, body.text)
    if problem is not None:
        return error_response(422, problem)
    try:
        incident = await ctx.service.outages.open(
            team=body.team, text=body.text, from_suggestion=body.from_suggestion
        )
    except NoSuchSuggestion as exc:
        return error_response(404, str(exc))
    log.info(
        "incident_opened",
        incident_id=incident.id,
        team=incident.team,
        suggestion=incident.suggestion,
        by=agent.name,
    )
    return web.json_response(incident.to_dict(), status=201)


@require_agent
async def list_incidents(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    incidents = await ctx.service.incidents.load()
    return web.json_response([i.to_dict() for i in incidents.items])


@require_agent
async def list_suggestions(request: web.Request) -> web.Response:
    ctx, _ = _ctx(request)
    suggestions = await ctx.service.outages.listed()
    return web.json_response([s.view() for s in suggestions])


@require_agent
async def dismiss_suggestion(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    try:
        suggestion = await ctx.service.outages.dismiss(request.match_info["id"])
    except NoSuchSuggestion as exc:
        return error_response(404, str(exc))
    log.info("incident_suggestion_dismissed", suggestion_id=suggestion.id, by=agent.name)
    return web.json_response({**suggestion.view(), "dismissed": True})


@require_agent
async def notify_incident(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    body: NotifyBody = await read_body(request, NotifyBody)
    problem = _languages_known(ctx, body.text)
    if problem is not None:
        return error_response(422, problem)
    incident = (await ctx.service.incidents.load()).get(request.match_info["id"])
    done = await ctx.service.outages.notify(
        ctx.courier, incident, body.text, update_id=body.update_id
    )
    log.info("incident_update_sent", incident_id=incident.id, by=agent.name, posted=done.posted)
    return web.json_response(done.to_dict())


@require_agent
async def close_incident(request: web.Request) -> web.Response:
    ctx, agent = _ctx(request)
    incident_id, at = request.match_info["id"], ctx.clock()
    body: CloseIncidentBody = await read_body(request, CloseIncidentBody)
    problem = _languages_known(ctx, body.text)
    if problem is not None:
        return error_response(422, problem)
    notify = body.notify or request.query.get("notify", "") in ("1", "true", "yes")

    def close(book: Incidents) -> tuple[Incidents, Incidents]:
        closed = book.close(incident_id, at=at)
        return closed, closed

    incidents = await ctx.service.incidents.update(close)
    incident = incidents.get(incident_id)
    log.info("incident_closed", incident_id=incident_id, by=agent.name)
    view = incident.to_dict()
    if notify:
        done = await ctx.service.outages.notify_resolved(ctx.courier, incident, body.text)
        view["notified"] = done.to_dict()
    return web.json_response(view)


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
    app.router.add_get("/api/incidents/suggestions", list_suggestions)
    app.router.add_delete("/api/incidents/suggestions/{id}", dismiss_suggestion)
    app.router.add_delete("/api/incidents/{id}", close_incident)
    app.router.add_post("/api/incidents/{id}/notify", notify_incident)
