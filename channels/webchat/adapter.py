"""Web chat: the customer page at ``GET /chat`` and its websocket at ``GET /chat/ws``.

Protocol: JSON text frames, one object each, with a ``type``.

Client to server::

    {"type": "hello", "session": TOKEN | null, "language": "pl" | "en" | "ru" | "he"}
        first frame, once. A genuine TOKEN resumes its conversation; null or a forged or
        unknown one starts a new session.
    {"type": "message", "id": FRAME_ID, "text": "...", "language"?: "en"}
        FRAME_ID: 1-64 of A-Z a-z 0-9 _ -, unique per message; a retry repeats the same id
        and is stored once (idempotency key ``chat:SESSION:FRAME_ID``).
    {"type": "typing"}
        the customer is typing (throttled; announced to agents).

Server to client::

    {"type": "welcome", "session": TOKEN, "resumed": bool, "language": str | null,
     "history": [{"id", "from": "customer" | "system" | "agent", "text", "author", "at"}],
     "limits": {"max_message_chars": N}}
    {"type": "ack", "id": FRAME_ID, "duplicate": bool}
        the message is stored: only now does the page show it as delivered.
    {"type": "prompt", "text", "language", "reply_to": FRAME_ID}     flow prompts
    {"type": "queued", "position": N, "wait_min": M}
        after queueing, and again whenever the position or the estimate changes: pushed
        when the queue moves (``channels.webchat.board``), not polled.
    {"type": "joined", "author": AGENT}          an agent has taken the conversation
        (after the answer to the message that queued it, when the claim came meanwhile)
    {"type": "agent", "id", "text", "author", "at"}   an agent's reply, live (author null:
        the router's own message, e.g. a large change of the wait; shown as the prompts are)
    {"type": "agent_typing", "author"}
    {"type": "closed", "state": "resolved" | "abandoned"}
        the conversation is over; the next message starts a new one.
    {"type": "error", "reason", "message", "retry": bool, "id"?: FRAME_ID,
     "retry_after_s"?: S}
        reasons: bad_frame, empty, too_long (nothing stored), rate_limited and
        store_unavailable (``retry``: send the same frame again, after ``retry_after_s``
        when given), internal.

Floods: one client address (``channels.clients``: behind the configured trusted proxies, from
X-Forwarded-For) holds at most ``max_open_per_ip`` sockets at once in a process; one more is
closed at once with code 1013 (try again later) and a reason. A message that would open a
contact beyond ``new_contacts_per_minute`` for the address (counted in the store, across
processes) is refused with a ``rate_limited`` error frame and nothing is stored. Refusals
are logged once per minute per address (``flood_refused``).

The session token is ``SESSION_ID.SIGNATURE`` (see ``channels.webchat.protocol``). The
session id is the contact's address and conversation. Agent replies travel over the store's
pub/sub on ``chat:SESSION_ID`` (Redis: to whichever process holds the socket); customer
typing is published on ``typing:CONTACT_ID`` for the agent console, and
``channels.webchat.outbox.agent_typing`` shows an agent's typing to the customer.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from importlib import resources
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from channels.base import CLAIMED, RESOLVED, Inbox, Outbox
from channels.clients import ClientAddresses
from channels.deadline import DEFAULT_DEADLINE_S, Deadline
from channels.floods import OpenCounts, RefusalLog
from channels.limits import WindowLimit
from channels.webchat.board import QueueBoard
from channels.webchat.conn import ChatSettings, Connection, History
from channels.webchat.outbox import ChatOutbox, PubSub, agent_typing
from channels.webchat.protocol import SessionTokens, chat_channel, dump
from queues import Channel, Contact, ContactState, StoreUnavailable, now_s

__all__ = ["WebchatAdapter", "agent_typing"]

log = structlog.get_logger(__name__)

_STATIC = {
    "chat.html": "text/html",
    "chat.js": "text/javascript",
    "chat.css": "text/css",
}
#: The close code of a socket refused for the client's open sockets (RFC 6455: try again later).
TRY_AGAIN_LATER = 1013
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def _static(name: str) -> bytes:
    return resources.files("channels.webchat").joinpath("static", name).read_bytes()


class WebchatAdapter:
    """The web chat channel: page, websocket, and the outbox for agents' replies.

    ``pubsub`` is the store (publish + subscribe); ``history(contact_id)`` gives a
    contact's stored messages, replayed when a customer reconnects. ``allowed_origins``
    (``scheme://host[:port]``), when given, are the sites that may embed the page or
    open the websocket besides this server itself; empty means any.
    """

    channel = Channel.CHAT

    def __init__(
        self,
        inbox: Inbox,
        *,
        pubsub: PubSub,
        history: History,
        secret: bytes,
        languages: Iterable[str],
        max_message_chars: int = 2000,
        max_messages_per_minute: int = 30,
        allowed_origins: Iterable[str] = (),
        queue_update_s: float = 30.0,
        hello_timeout_s: float = 30.0,
        heartbeat_s: float = 30.0,
        typing_every_s: float = 2.0,
        clock: Callable[[], float] = now_s,
        clients: ClientAddresses | None = None,
        max_open_per_ip: int = 20,
        new_contacts_per_minute: int = 30,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self.outbox: Outbox | None = ChatOutbox(pubsub)
        self._clients = clients or ClientAddresses()
        self._open = OpenCounts(max_open_per_ip)
        self._refusals = RefusalLog(60.0)
        self._deadline = Deadline(deadline_s)
        self._pubsub = pubsub
        self.board = QueueBoard(inbox, pubsub, refresh_s=queue_update_s)
        self._settings = ChatSettings(
            inbox=inbox,
            pubsub=pubsub,
            history=history,
            tokens=SessionTokens(secret),
            limiter=WindowLimit(
                pubsub, max_messages_per_minute, window_s=60.0, prefix="chat:messages:"
            ),
            languages=frozenset(languages),
            max_message_chars=max_message_chars,
            board=self.board,
            hello_timeout_s=hello_timeout_s,
            typing_every_s=typing_every_s,
            clock=clock,
            new_contacts=WindowLimit(
                pubsub, new_contacts_per_minute, window_s=60.0, prefix="chat:new-contacts:"
            ),
            refusals=self._refusals,
            deadline=self._deadline,
        )
        self._origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)
        self._heartbeat_s = heartbeat_s
        # JSON may escape every character as \\uXXXX: allow that, plus the envelope.
        self._max_frame_bytes = max_message_chars * 6 + 1024
        self._files = {name: _static(name) for name in _STATIC}
        self._sockets: set[web.WebSocketResponse] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/chat", self._page)
        app.router.add_get("/chat/ws", self._websocket)
        app.router.add_get("/chat/chat.js", self._asset)
        app.router.add_get("/chat/chat.css", self._asset)
        app.on_shutdown.append(self._shutdown)

    async def start(self) -> None:
        log.info("channel_on", channel=str(Channel.CHAT), path="/chat")

    async def aclose(self) -> None:
        await self._close_sockets()
        await self.board.aclose()
        await self._deadline.aclose()

    async def changed(self, contact: Contact, change: str) -> None:
        """Tell the customer's page, wherever its socket is: an agent joined, or the chat
        is over. (Positions come from the board; a released chat is in its queue again.)"""
        if contact.channel is not Channel.CHAT:
            return
        if change == CLAIMED:
            frame: dict[str, object] = {"type": "joined", "author": contact.agent}
        elif change == RESOLVED:
            frame = {"type": "closed", "state": str(ContactState.RESOLVED)}
        else:
            return
        with contextlib.suppress(StoreUnavailable):
            await self._pubsub.publish(chat_channel(contact.address), dump(frame))

    async def _shutdown(self, app: web.Application) -> None:
        await self._close_sockets()

    async def _close_sockets(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutting down")

    # -- HTTP --------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.Response:
        host = request.host if _HOST_RE.match(request.host) else None
        connect = f"'self' ws://{host} wss://{host}" if host else "'self'"
        ancestors = " ".join(["'self'", *sorted(self._origins)]) if self._origins else "*"
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'none'; "
            f"frame-ancestors {ancestors}"
        )
        return self._file("chat.html", {"Content-Security-Policy": csp})

    async def _asset(self, request: web.Request) -> web.Response:
        return self._file(request.path.rsplit("/", 1)[-1], {})

    def _file(self, name: str, headers: dict[str, str]) -> web.Response:
        return web.Response(
            body=self._files[name],
            content_type=_STATIC[name],
            charset="utf-8",
            headers={
                **headers,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if self._origins and origin is not None and not self._origin_ok(origin, request.host):
            log.info("chat_origin_refused", origin=origin[:200])
            return web.json_response(
                {"error": f"origin {origin[:200]!r} may not open the chat"}, status=403
            )
        ws = web.WebSocketResponse(heartbeat=self._heartbeat_s, max_msg_size=self._max_frame_bytes)
        client = self._clients.of(request)
        await ws.prepare(request)
        if self._open.open(client) is not None:
            return await self._refuse(ws, client)
        self._sockets.add(ws)
        try:
            await Connection(ws, self._settings, client=client).serve()
        finally:
            self._open.close(client)
            self._sockets.discard(ws)
            await ws.close()
        return ws

    async def _refuse(self, ws: web.WebSocketResponse, client: str) -> web.WebSocketResponse:
        limit = self._open.per_key
        self._refusals.refused("chat_open", client, limit=limit)
        reason = f"too many open chats from your address ({limit}); close one and try again"
        await ws.close(code=TRY_AGAIN_LATER, message=reason.encode())
        return ws

    def _origin_ok(self, origin: str, host: str) -> bool:
        normalized = origin.rstrip("/").lower()
        return normalized in self._origins or urlsplit(normalized).netloc == host.lower()
