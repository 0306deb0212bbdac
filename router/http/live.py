"""The agent console's websocket (``GET /agent/ws``): queue depths and the held contact, live.

The token is the first frame, not part of the URL (URLs end up in logs)::

    client -> {"type": "auth", "token": "..."}
    server -> {"type": "ready", "agent": "ania"}
    client -> {"type": "serve", "teams": ["billing"], "status": "available"|"break"}
    client -> {"type": "watch", "contact_id": "..." | null}
    client -> {"type": "watch", "contact_ids": ["...", ...]}   (several open contacts)
    server -> {"type": "queues", "at": "<server time>", "queues": [{"team", "waiting", ...}]}
    server -> {"type": "contact", "contact": {... as GET /api/contacts/{id}}}
    server -> {"type": "typing", "contact_id": "..."}
    server -> {"type": "gone", "contact_id": "...", "error": "..."}   (no longer watched)
    server -> {"type": "error", "error": "..."}

Queue depths are pushed every ``queue_push_s``. A watch names the contacts the console has
open (the agent holds them; up to ``MAX_WATCHED``), replacing the ones watched before. Each
watched contact is pushed when it changes (its callback's state included): any router
process that takes a customer message for it, records a reply or a delivery report, or
moves it, says so on the store's pub/sub channel
``contact:{contact_id}`` (``router.desk.announce_change``), and the console reads it again
then; every ``contact_poll_s`` it is read anyway, in case news was lost. Customer typing
arrives over the store's pub/sub channel ``typing:{contact_id}``.

Every push checks the read rule again (``router.http.access``): a contact the agent may no
longer read (transferred to a team they do not serve, and no longer theirs), or that no
longer exists, is watched no more and the console is told so with ``gone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from channels import load_json
from queues import ContactNotFound, StoreUnavailable, stop_task, to_iso
from router.contacts import callback_view
from router.desk import AgentStatus, contact_channel
from router.http.access import may_read, refusal
from router.http.context import CONTEXT, Context
from router.http.views import contact_view, queue_depths
from router.identity import Agent

__all__ = ["LIVE_SETTINGS", "MAX_WATCHED", "LiveSettings", "agent_socket"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LiveSettings:
    queue_push_s: float = 2.0
    contact_poll_s: float = 15.0
    auth_timeout_s: float = 10.0


LIVE_SETTINGS = web.AppKey("live_settings", LiveSettings)


#: Contacts one console may watch at once (its open tabs: the agent's capacity).
MAX_WATCHED = 20


@dataclass(slots=True)
class _Watch:
    """One watched contact: what the console last saw of it, and its listeners."""

    contact_id: str
    seen: tuple[Any, ...] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: One push at a time (read, then send): the poll's read, a change's and a watch's may
    #: otherwise overlap and send an older state after a newer one.
    pushing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()


@dataclass(slots=True)
class _Session:
    ctx: Context
    agent: Agent
    ws: web.WebSocketResponse
    settings: LiveSettings
    teams: list[str] = field(default_factory=list)
    watched: dict[str, _Watch] = field(default_factory=dict)
    contact_read_at: float = 0.0

    async def send(self, frame: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        # The console may go away between the check and the write; nothing is lost then.
        with contextlib.suppress(ConnectionError):
            await self.ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def push_queues(self) -> None:
        await self.ctx.presence.seen(self.agent.name, self.teams or self.agent.teams)
        depths = await queue_depths(self.ctx)
        # The server's time: the console counts SLA time left by it, not by the PC's clock.
        await self.send({"type": "queues", "at": to_iso(self.ctx.clock()), "queues": depths})

    async def push_contact(self, contact_id: str, *, force: bool = False) -> None:
        watch = self.watched.get(contact_id)
        if watch is None:
            return
        async with watch.pushing:
            await self._push(watch, contact_id, force=force)

    async def _push(self, watch: _Watch, contact_id: str, *, force: bool) -> None:
        try:
            contact = await self.ctx.store.get_contact(contact_id)
        except ContactNotFound as exc:
            await self.gone(contact_id, str(exc))
            return
        supervisors, teams = self.ctx.config.agents.supervisors, self.ctx.routing.teams
        if not may_read(self.agent, contact, supervisors, teams):
            await self.gone(contact_id, refusal(self.agent, contact))
            return
        # What the console shows; the lease time changes on every heartbeat and is left out.
        signature = (
            contact.state,
            contact.team,
            contact.agent,
            len(contact.messages),
            contact.messages[-1].id if contact.messages else None,
            tuple(m.meta.get("delivery") for m in contact.messages[-3:]),
            json.dumps(await callback_view(self.ctx.store, contact), sort_keys=True),
        )
        if force or signature != watch.seen:
            watch.seen = signature
            await self.send({"type": "contact", "contact": await contact_view(self.ctx, contact)})

    async def push_contacts(self) -> None:
        self.contact_read_at = asyncio.get_running_loop().time()
        for contact_id in list(self.watched):
            await self.push_contact(contact_id)

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        next_queues = 0.0
        while not self.ws.closed:
            try:
                if loop.time() >= next_queues:
                    await self.push_queues()
                    next_queues = loop.time() + self.settings.queue_push_s
                if loop.time() - self.contact_read_at >= self.settings.contact_poll_s:
                    await self.push_contacts()  # in case news of a change was lost
            except StoreUnavailable:
                await self.send({"type": "error", "error": "the store is unavailable; retrying"})
            except Exception:  # a bug must not silence the console's live feed for good
                log.exception("agent_console_push_failed")
            await asyncio.sleep(min(self.settings.contact_poll_s, self.settings.queue_push_s))

    async def follow_changes(self, contact_id: str) -> None:
        """Read the contact again whenever any process says it changed."""
        while contact_id in self.watched:
            try:
                async with self.ctx.store.subscribe(contact_channel(contact_id)) as news:
                    async for _ in news:
                        await self.push_contact(contact_id)
            except StoreUnavailable:
                await asyncio.sleep(1.0)

    async def follow_typing(self, contact_id: str) -> None:
        with contextlib.suppress(StoreUnavailable):
            async with self.ctx.store.subscribe(f"typing:{contact_id}") as frames:
                async for _ in frames:
                    await self.send({"type": "typing", "contact_id": contact_id})

    async def gone(self, contact_id: str, reason: str) -> None:
        """Watch ``contact_id`` no more, and say why."""
        # Said first: unwatching cancels the listener this may run in.
        await self.send({"type": "gone", "contact_id": contact_id, "error": reason})
        self.unwatch(contact_id)

    def unwatch(self, contact_id: str) -> None:
        watch = self.watched.pop(contact_id, None)
        if watch is not None:
            watch.stop()

    def unwatch_all(self) -> None:
        for contact_id in list(self.watched):
            self.unwatch(contact_id)

    async def watch(self, frame: dict[str, Any]) -> None:
        """Watch the contacts the frame names (``contact_ids``, or one ``contact_id``, or
        null for none) instead of those watched before."""
        wanted = frame.get("contact_ids") if "contact_ids" in frame else [frame.get("contact_id")]
        if not isinstance(wanted, list) or len(wanted) > MAX_WATCHED:
            await self.send(
                {"type": "error", "error": f"contact_ids is a list of at most {MAX_WATCHED} ids"}
            )
            return
        ids = list(dict.fromkeys(w for w in wanted if w is not None))
        if not all(isinstance(i, str) for i in ids):
            await self.send({"type": "error", "error": "watch takes contact_id strings"})
            return
        for contact_id in [c for c in self.watched if c not in ids]:
            self.unwatch(contact_id)
        for contact_id in ids:
            if contact_id not in self.watched:
                await self._watch_one(contact_id)

    async def _watch_one(self, contact_id: str) -> None:
        try:
            contact = await self.ctx.store.get_contact(contact_id, messages=False)
        except ContactNotFound as exc:
            await self.send({"type": "error", "error": str(exc)})
            return
        if contact.agent != self.agent.name:
            await self.send(
                {"type": "error", "error": f"you do not hold contact {contact_id!r}; claim it"}
            )
            return
        watch = self.watched[contact_id] = _Watch(contact_id)
        watch.tasks += [
            asyncio.create_task(self.follow_typing(contact_id)),
            asyncio.create_task(self.follow_changes(contact_id)),
        ]
        await self.push_contact(contact_id, force=True)

    async def serve(self, frame: dict[str, Any]) -> None:
        teams = frame.get("teams") or list(self.agent.teams)
        if not isinstance(teams, list) or any(t not in self.agent.teams for t in teams):
            await self.send(
                {"type": "error", "error": f"you serve {', '.join(self.agent.teams)} only"}
            )
            return
        status = frame.get("status")
        try:
            chosen = AgentStatus(status) if status is not None else None
        except ValueError:
            await self.send({"type": "error", "error": "status is available or break"})
            return
        self.teams = [str(t) for t in teams]
        await self.ctx.presence.seen(self.agent.name, self.teams, status=chosen)
        await self.push_queues()

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "serve":
            await self.serve(frame)
        elif kind == "watch":
            await self.watch(frame)
        else:
            await self.send({"type": "error", "error": f"unknown frame type {kind!r}"})


async def _authenticate(ctx: Context, ws: web.WebSocketResponse, timeout_s: float) -> Agent | None:
    try:
        msg = await ws.receive(timeout=timeout_s)
    except TimeoutError:
        return None
    if msg.type is not WSMsgType.TEXT:
        return None
    try:
        frame = load_json(msg.data)  # depth-capped, Unicode only: BadInput is a ValueError
    except ValueError:
        return None
    token = frame.get("token") if isinstance(frame, dict) else None
    if not isinstance(token, str) or frame.get("type") != "auth":
        return None
    return ctx.agents.authenticate(token)


async def agent_socket(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    settings = request.app[LIVE_SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    agent = await _authenticate(ctx, ws, settings.auth_timeout_s)
    if agent is None:
        await ws.send_str(json.dumps({"type": "error", "error": "a valid agent token is required"}))
        await ws.close(code=4401, message=b"unauthorized")
        return ws
    structlog.contextvars.bind_contextvars(agent=agent.name)
    session = _Session(ctx, agent, ws, settings, teams=list(agent.teams))
    await session.send({"type": "ready", "agent": agent.name})
    ticker = asyncio.create_task(session.ticker())
    log.info("agent_console_connected")
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                frame = load_json(msg.data)
            except ValueError:
                await session.send({"type": "error", "error": "frames are JSON objects"})
                continue
            if isinstance(frame, dict):
                try:
                    await session.handle(frame)
                except StoreUnavailable:
                    await session.send({"type": "error", "error": "the store is unavailable"})
    finally:
        session.unwatch_all()
        await stop_task(ticker)
        log.info("agent_console_disconnected")
    return ws
