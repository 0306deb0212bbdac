"""The agent console's websocket (``GET /agent/ws``): queue depths and the held contact, live.

The token is the first frame, not part of the URL (URLs end up in logs)::

    client -> {"type": "auth", "token": "..."}
    server -> {"type": "ready", "agent": "ania"}
    client -> {"type": "serve", "teams": ["billing"], "status": "available"|"break"}
    client -> {"type": "watch", "contact_id": "..." | null}
    server -> {"type": "queues", "at": "<server time>", "queues": [{"team", "waiting", ...}]}
    server -> {"type": "contact", "contact": {... as GET /api/contacts/{id}}}
    server -> {"type": "typing", "contact_id": "..."}
    server -> {"type": "error", "error": "..."}

Queue depths are pushed every ``queue_push_s``. The watched contact (one the agent holds) is
pushed when it changes: any router process that takes a customer message for it, records a
reply or a delivery report, or moves it, says so on the store's pub/sub channel
``contact:{contact_id}`` (``router.desk.announce_change``), and the console reads it again
then; every ``contact_poll_s`` it is read anyway, in case news was lost. Customer typing
arrives over the store's pub/sub channel ``typing:{contact_id}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from queues import ContactNotFound, StoreUnavailable, to_iso
from router.desk import AgentStatus, contact_channel
from router.http.context import CONTEXT, Context
from router.http.views import contact_view, queue_depths
from router.identity import Agent

__all__ = ["LIVE_SETTINGS", "LiveSettings", "agent_socket"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LiveSettings:
    queue_push_s: float = 2.0
    contact_poll_s: float = 15.0
    auth_timeout_s: float = 10.0


LIVE_SETTINGS = web.AppKey("live_settings", LiveSettings)


@dataclass(slots=True)
class _Session:
    ctx: Context
    agent: Agent
    ws: web.WebSocketResponse
    settings: LiveSettings
    teams: list[str] = field(default_factory=list)
    watching: str | None = None
    seen: tuple[Any, ...] | None = None
    typing: asyncio.Task[None] | None = None
    changes: asyncio.Task[None] | None = None
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

    async def push_contact(self, *, force: bool = False) -> None:
        if self.watching is None:
            return
        self.contact_read_at = asyncio.get_running_loop().time()
        contact = await self.ctx.store.get_contact(self.watching)
        # What the console shows; the lease time changes on every heartbeat and is left out.
        signature = (
            contact.state,
            contact.team,
            contact.agent,
            len(contact.messages),
            contact.messages[-1].id if contact.messages else None,
            tuple(m.meta.get("delivery") for m in contact.messages[-3:]),
        )
        if force or signature != self.seen:
            self.seen = signature
            await self.send({"type": "contact", "contact": await contact_view(self.ctx, contact)})

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        next_queues = 0.0
        while not self.ws.closed:
            try:
                if loop.time() >= next_queues:
                    await self.push_queues()
                    next_queues = loop.time() + self.settings.queue_push_s
                if loop.time() - self.contact_read_at >= self.settings.contact_poll_s:
                    await self.push_contact()  # in case news of a change was lost
            except StoreUnavailable:
                await self.send({"type": "error", "error": "the store is unavailable; retrying"})
            except ContactNotFound:
                self.watching = None
            except Exception:  # a bug must not silence the console's live feed for good
                log.exception("agent_console_push_failed")
            await asyncio.sleep(min(self.settings.contact_poll_s, self.settings.queue_push_s))

    async def follow_changes(self, contact_id: str) -> None:
        """Read the contact again whenever any process says it changed."""
        while self.watching == contact_id:
            try:
                async with self.ctx.store.subscribe(contact_channel(contact_id)) as news:
                    async for _ in news:
                        await self.push_contact()
            except StoreUnavailable:
                await asyncio.sleep(1.0)
            except ContactNotFound:
                self.watching = None

    async def follow_typing(self, contact_id: str) -> None:
        with contextlib.suppress(StoreUnavailable):
            async with self.ctx.store.subscribe(f"typing:{contact_id}") as frames:
                async for _ in frames:
                    await self.send({"type": "typing", "contact_id": contact_id})

    async def watch(self, contact_id: Any) -> None:
        for task in (self.typing, self.changes):
            if task is not None:
                task.cancel()
        self.typing = self.changes = None
        self.watching, self.seen = None, None
        if contact_id is None:
            return
        if not isinstance(contact_id, str):
            await self.send({"type": "error", "error": "watch takes a contact_id string"})
            return
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
        self.watching = contact_id
        self.typing = asyncio.create_task(self.follow_typing(contact_id))
        self.changes = asyncio.create_task(self.follow_changes(contact_id))
        await self.push_contact(force=True)

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
            await self.watch(frame.get("contact_id"))
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
        frame = json.loads(msg.data)
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
                frame = json.loads(msg.data)
            except ValueError:
                await session.send({"type": "error", "error": "frames are JSON objects"})
                continue
            if isinstance(frame, dict):
                try:
                    await session.handle(frame)
                except StoreUnavailable:
                    await session.send({"type": "error", "error": "the store is unavailable"})
    finally:
        for task in (ticker, session.typing, session.changes):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        log.info("agent_console_disconnected")
    return ws
