"""Canned replies over HTTP (``Authorization: Bearer TOKEN``; ``router.desk.canned``).

- ``GET /api/canned[?team=&language=&q=]``: every reply, or those for a team (and every
  team's), in a language, matching a search; ``?contact_id=ID`` instead gives the replies
  for that contact's team and language, each with ``filled`` (its text for the contact)
  and ``unfilled`` (placeholders nothing could fill: the agent completes them).
- ``GET /api/canned/{id}[?contact_id=ID]``: one reply, its version in ``ETag``.
- ``POST /api/canned {"title", "team", "language", "text"}`` → 201.
- ``PUT /api/canned/{id} {...any of those...}``, ``DELETE /api/canned/{id}``: with
  ``If-Match: <version>`` only that version is changed (else 412).

Every agent reads them. An agent writes the replies of the teams they serve (moving one
to another team needs both); a reply for every team (``team`` null) is written by an
agent who serves every team, or a supervisor.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from aiohttp import web
from pydantic import Field

from queues import Contact, ContactState, StoreUnavailable
from router.config import CannedText
from router.desk import CannedReplies, CannedReply, fill_params
from router.http.access import may_read, refusal
from router.http.auth import require_agent
from router.http.bodies import Body, read_body
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import error_response
from router.identity import Agent

__all__ = ["CannedBody", "CannedChange", "add_canned_routes"]

log = structlog.get_logger(__name__)

Title = Annotated[str, Field(min_length=1, max_length=80)]


class CannedBody(Body):
    title: Title
    team: str | None = None
    language: str
    text: CannedText


class CannedChange(Body):
    title: Title | None = None
    team: str | None = None
    language: str | None = None
    text: CannedText | None = None


def _replies(ctx: Context) -> CannedReplies:
    return CannedReplies(ctx.store, clock=ctx.clock)


def _problem(ctx: Context, team: str | None, language: str | None) -> str | None:
    """Why a team or language cannot be used, or None."""
    if team is not None and team not in ctx.routing.teams:
        return f"team: {team!r} does not exist; use one of {', '.join(ctx.routing.teams)} or null"
    supported = ctx.config.languages.supported
    if language is not None and language not in supported:
        return f"language: {language!r} is not supported; use one of {', '.join(supported)}"
    return None


def _may_write(ctx: Context, agent: Agent, team: str | None) -> bool:
    if agent.name in ctx.config.agents.supervisors:
        return True
    if team is None:
        return set(agent.teams) >= set(ctx.routing.teams)
    return team in agent.teams


def _write_refusal(agent: Agent, team: str | None) -> str:
    whose = "every team's" if team is None else f"team {team}'s"
    return (
        f"you write the canned replies of {', '.join(agent.teams)}, not {whose}; "
        "a supervisor (agents.supervisors) writes every one"
    )


async def _for_contact(
    ctx: Context, agent: Agent, contact_id: str
) -> tuple[Contact, dict[str, str]] | str:
    """The contact and its placeholders' values, or why the agent may not read it."""
    contact = await ctx.store.get_contact(contact_id, messages=False)
    if not may_read(agent, contact, ctx.config.agents.supervisors, ctx.routing.teams):
        return refusal(agent, contact)
    account = ctx.accounts.find(contact.account) if contact.account else None
    position = None
    if contact.state is ContactState.WAITING:
        standing = await ctx.store.position(contact.id)
        position = standing.ahead + 1 if standing is not None else None
    params = fill_params(
        contact,
        name=account.name if account is not None else None,
        position=position,
        timezone=ctx.config.timezone,
    )
    return contact, params


def _tagged(
    reply: CannedReply, status: int = 200, params: dict[str, str] | None = None
) -> web.Response:
    headers = {"ETag": f'"{reply.tag}"'} if reply.tag else {}
    return web.json_response(reply.to_dict(params), status=status, headers=headers)


def _if_match(request: web.Request) -> str | None:
    value = request.headers.get("If-Match")
    return None if value is None or value.strip() == "*" else value.strip().strip('"')


@require_agent
async def list_canned(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    q = request.query
    contact_id = q.get("contact_id")
    if contact_id:
        found_for = await _for_contact(ctx, agent, contact_id)
        if isinstance(found_for, str):
            return error_response(403, found_for)
        contact, params = found_for
        spoken = contact.language or ctx.config.languages.default
        teams = [contact.team] if contact.team else list(agent.teams)
        found = await _replies(ctx).matching(teams=teams, language=spoken, query=q.get("q", ""))
        return web.json_response([r.to_dict(params) for r in found])
    team, language = q.get("team") or None, q.get("language") or None
    problem = _problem(ctx, team, language)
    if problem is not None:
        return error_response(400, problem)
    found = await _replies(ctx).matching(
        teams=None if team is None else [team], language=language, query=q.get("q", "")
    )
    return web.json_response([r.to_dict() for r in found])


@require_agent
async def get_canned(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    reply = await _replies(ctx).get(request.match_info["id"])
    contact_id = request.query.get("contact_id")
    if not contact_id:
        return _tagged(reply)
    found_for = await _for_contact(ctx, agent, contact_id)
    if isinstance(found_for, str):
        return error_response(403, found_for)
    return _tagged(reply, params=found_for[1])


@require_agent
async def create_canned(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    body: CannedBody = await read_body(request, CannedBody)
    problem = _problem(ctx, body.team, body.language)
    if problem is not None:
        return error_response(422, problem)
    if not _may_write(ctx, agent, body.team):
        return error_response(403, _write_refusal(agent, body.team))
    reply = await _replies(ctx).create(
        title=body.title, team=body.team, language=body.language, text=body.text, by=agent.name
    )
    log.info("canned_reply_created", reply_id=reply.id, team=reply.team)
    return _tagged(reply, status=201)


@require_agent
async def change_canned(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    body: CannedChange = await read_body(request, CannedChange)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("title", "") is None or changes.get("language", "") is None:
        return error_response(422, "title and language cannot be null; leave them out to keep them")
    if changes.get("text", "") is None:
        return error_response(422, "text cannot be null; leave it out to keep it")
    problem = _problem(ctx, changes.get("team"), changes.get("language"))
    if problem is not None:
        return error_response(422, problem)
    replies = _replies(ctx)
    current = await replies.get(request.match_info["id"])
    for team in {current.team, changes.get("team", current.team)}:
        if not _may_write(ctx, agent, team):
            return error_response(403, _write_refusal(agent, team))
    reply = await replies.change(current.id, changes, by=agent.name, expected=_if_match(request))
    log.info("canned_reply_changed", reply_id=reply.id, fields=sorted(changes))
    return _tagged(reply)


@require_agent
async def delete_canned(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    replies = _replies(ctx)
    current = await replies.get(request.match_info["id"])
    if not _may_write(ctx, agent, current.team):
        return error_response(403, _write_refusal(agent, current.team))
    await replies.delete(current.id, by=agent.name, expected=_if_match(request))
    log.info("canned_reply_deleted", reply_id=current.id)
    return web.Response(status=204)


async def _seed(app: web.Application) -> None:
    """Store the config's shipped replies the store does not have yet (once per id)."""
    ctx = app[CONTEXT]
    try:
        added = await _replies(ctx).seed(ctx.config.canned)
    except StoreUnavailable as exc:  # the next start seeds them
        log.warning("canned_seed_failed", error=str(exc))
        return
    if added:
        log.info("canned_replies_seeded", count=added)


def add_canned_routes(app: web.Application) -> None:
    app.router.add_get("/api/canned", list_canned)
    app.router.add_post("/api/canned", create_canned)
    app.router.add_get("/api/canned/{id}", get_canned)
    app.router.add_put("/api/canned/{id}", change_canned)
    app.router.add_delete("/api/canned/{id}", delete_canned)
    app.on_startup.append(_seed)
