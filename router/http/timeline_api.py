"""A customer's timeline, and agents' notes and tags on a contact (``Authorization: Bearer``).

- ``GET /api/contacts/{id}/timeline[?limit=1..200]``: the other contacts of the contact's
  account, newest first, on every channel and team (``router.desk.timeline``), and the
  contact's own notes and tags. Only a verified contact has one (else ``contacts`` is empty
  and ``account`` null).
- ``POST /api/contacts/{id}/notes {"text"}`` → 201 with the note as kept.
- ``PUT /api/contacts/{id}/tags {"tags": [...]}`` → the tags as kept (lowercase, sorted).

Each needs the agent to read the contact (``router.http.access``). The timeline then lists
the account's contacts of every team as summaries (channel, times, team, disposition,
notes, tags; no messages): the customer's history is what the agent answering them needs,
and opening one of those contacts follows the access rules as before.
"""

from __future__ import annotations

import json
from typing import Annotated

from aiohttp import web
from pydantic import Field

from queues import MAX_NOTE_CHARS, MAX_TAGS, NOTES, TAGS, Contact
from router.desk import TIMELINE_LIMIT, Timeline
from router.http.access import may_read, refusal
from router.http.auth import require_agent
from router.http.bodies import Body, read_body
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import error_response, refuse
from router.identity import Agent

__all__ = ["NoteBody", "TagsBody", "add_timeline_routes"]

MAX_LIMIT = 200


class NoteBody(Body):
    text: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class TagsBody(Body):
    tags: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=MAX_TAGS)]


async def _readable(request: web.Request) -> tuple[Context, Agent, Contact]:
    """The request's contact, when its agent may read it (else 403)."""
    ctx, agent = request.app[CONTEXT], request[AGENT]
    contact = await ctx.store.get_contact(request.match_info["id"], messages=False)
    if not may_read(agent, contact, ctx.config.agents.supervisors, ctx.routing.teams):
        reason = json.dumps({"error": refusal(agent, contact)})
        raise web.HTTPForbidden(text=reason, content_type="application/json")
    return ctx, agent, contact


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(TIMELINE_LIMIT))
    try:
        limit = int(raw)
    except ValueError:
        raise refuse(400, f"limit must be a whole number, not {raw!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise refuse(400, f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


@require_agent
async def timeline(request: web.Request) -> web.Response:
    limit = _limit(request)
    ctx, _, contact = await _readable(request)
    found = await Timeline(ctx.store, clock=ctx.clock).of(contact, limit=limit)
    return web.json_response(
        {
            "contact_id": contact.id,
            **found,
            "notes": list(contact.meta.get(NOTES) or []),
            "tags": list(contact.meta.get(TAGS) or []),
        }
    )


@require_agent
async def add_note(request: web.Request) -> web.Response:
    body: NoteBody = await read_body(request, NoteBody)
    if not body.text.strip():
        return error_response(422, "text: the note is empty; write what the next agent needs")
    ctx, agent, contact = await _readable(request)
    notes = Timeline(ctx.store, clock=ctx.clock)
    note = await notes.add_note(contact.id, body.text, agent=agent.name)
    return web.json_response({"contact_id": contact.id, "note": note}, status=201)


@require_agent
async def put_tags(request: web.Request) -> web.Response:
    body: TagsBody = await read_body(request, TagsBody)
    ctx, _, contact = await _readable(request)
    tags = await Timeline(ctx.store, clock=ctx.clock).set_tags(contact.id, body.tags)
    return web.json_response({"contact_id": contact.id, "tags": tags})


def add_timeline_routes(app: web.Application) -> None:
    app.router.add_get("/api/contacts/{id}/timeline", timeline)
    app.router.add_post("/api/contacts/{id}/notes", add_note)
    app.router.add_put("/api/contacts/{id}/tags", put_tags)
