"""One customer's websocket: hello, messages in, prompts, queue updates and replies out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from channels.base import Answer, HoldStatus, InboundMessage, Inbox, Standing
from channels.deadline import Deadline
from channels.errors import FrameError
from channels.floods import RefusalLog
from channels.limits import WindowLimit
from channels.webchat.board import QueueBoard
from channels.webchat.outbox import PubSub
from channels.webchat.protocol import (
    Hello,
    SessionTokens,
    Typing,
    UserText,
    chat_channel,
    dump,
    error_frame,
    history_item,
    parse_frame,
    typing_channel,
    wait_min,
)
from queues import Channel, ContactState, Message, StoreUnavailable, stop_task, to_iso

__all__ = ["ChatSettings", "Connection"]

log = structlog.get_logger(__name__)

History = Callable[[str], Awaitable[Sequence[Message]]]
_STORE_DOWN = "the store is unavailable; the message was not taken, send it again"


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What every connection of one adapter shares."""

    inbox: Inbox
    pubsub: PubSub
    history: History
    tokens: SessionTokens
    limiter: WindowLimit
    languages: frozenset[str]
    max_message_chars: int
    board: QueueBoard
    hello_timeout_s: float
    typing_every_s: float
    clock: Callable[[], float]
    #: New contacts (a first message with no open contact) per client address per minute.
    new_contacts: WindowLimit
    refusals: RefusalLog
    deadline: Deadline


class Connection:
    """Serves one websocket from its hello to its close."""

    __slots__ = (
        "_agent",
        "_client",
        "_closed_sent",
        "_contact_id",
        "_language",
        "_last_queued",
        "_lock",
        "_s",
        "_session",
        "_turn",
        "_typed",
        "_ws",
    )

    def __init__(
        self, ws: web.WebSocketResponse, settings: ChatSettings, *, client: str = ""
    ) -> None:
        self._ws = ws
        self._s = settings
        self._client = client  # the customer's address (behind trusted proxies)
        self._lock = asyncio.Lock()
        self._session = ""
        self._language: str | None = None
        self._contact_id: str | None = None
        self._last_queued: tuple[int, int] | None = None
        self._agent: str | None = None
        self._closed_sent = False
        self._typed = 0.0
        # While a message is taken, news from agents waits here and follows its answer.
        self._turn: list[str] | None = None

    async def serve(self) -> None:
        hello = await self._hello()
        if hello is None:
            return
        session = self._s.tokens.verify(hello.token)
        resumed = session is not None
        if session is None:
            session, token = self._s.tokens.issue()
        else:
            token = self._s.tokens.token(session)
        self._session = session
        self._language = self._supported(hello.language)
        structlog.contextvars.bind_contextvars(channel=str(Channel.CHAT), chat_session=session)
        forward: asyncio.Task[None] | None = None
        try:
            async with self._s.pubsub.subscribe(chat_channel(session)) as replies:
                await self._welcome(token, resumed)
                # Started after the welcome: what was published meanwhile waits in `replies`.
                forward = asyncio.create_task(self._forward(replies))
                await self._read()
        except StoreUnavailable as exc:
            log.warning("chat_store_unavailable", error=str(exc))
            await self._send(error_frame("store_unavailable", _STORE_DOWN, retry=True))
        finally:
            if self._contact_id is not None:
                self._s.board.unwatch(self._contact_id, self._standing)
            await stop_task(forward)

    # -- frames in -------------------------------------------------------------------------
    async def _hello(self) -> Hello | None:
        try:
            msg = await self._ws.receive(timeout=self._s.hello_timeout_s)
        except TimeoutError:
            await self._send(error_frame("bad_frame", "send a hello frame first"))
            return None
        if msg.type is not WSMsgType.TEXT:
            return None
        try:
            frame = parse_frame(msg.data, max_chars=self._s.max_message_chars)
        except FrameError as exc:
            await self._send(error_frame(exc.reason, str(exc)))
            return None
        if not isinstance(frame, Hello):
            await self._send(error_frame("bad_frame", "the first frame must be a hello"))
            return None
        return frame

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type is WSMsgType.TEXT:
                await self._frame(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await self._send(error_frame("bad_frame", "frames are JSON text, not binary"))
            else:  # ERROR: aiohttp has closed the socket (e.g. a frame over max_msg_size)
                log.info("chat_socket_error", error=str(self._ws.exception()))
                return

    async def _frame(self, raw: str) -> None:
        try:
            frame = parse_frame(raw, max_chars=self._s.max_message_chars)
        except FrameError as exc:
            await self._send(error_frame(exc.reason, str(exc), frame_id=exc.frame_id))
            return
        if isinstance(frame, UserText):
            await self._message(frame)
        elif isinstance(frame, Typing):
            await self._typing()
        else:
            await self._send(error_frame("bad_frame", "hello is sent once, at the start"))

    async def _within_limit(self, frame: UserText) -> bool:
        """Count the message against the session's rate limit; refuse it when over."""
        retry_after_s = await self._s.limiter.allow(self._session)
        if retry_after_s is None:
            return True
        reason = "too many messages in a minute; wait and send again"
        await self._send(
            error_frame(
                "rate_limited", reason, frame_id=frame.id, retry=True, retry_after_s=retry_after_s
            )
        )
        return False

    async def _new_contact_allowed(self, frame: UserText) -> bool:
        """A message that opens a contact counts against its client address's budget."""
        if self._contact_id is not None and not self._closed_sent:
            return True
        retry_after_s = await self._s.new_contacts.allow(self._client)
        if retry_after_s is None:
            return True
        limit = self._s.new_contacts.limit
        self._s.refusals.refused("chat_new_contacts", self._client, limit_per_minute=limit)
        reason = f"too many new chats from your address ({limit} a minute); wait and send again"
        await self._send(
            error_frame(
                "rate_limited", reason, frame_id=frame.id, retry=True, retry_after_s=retry_after_s
            )
        )
        return False

    async def _take(self, frame: UserText, message: InboundMessage) -> Answer | None:
        if not await self._within_limit(frame) or not await self._new_contact_allowed(frame):
            return None
        return await self._s.inbox.receive(message)

    async def _message(self, frame: UserText) -> None:
        """Take one message and send its answer; news from agents that arrives meanwhile
        (a claim made while this very message queued the contact) follows the answer, so
        the page says "waiting in the queue" before "an agent joined", never after."""
        self._turn = []
        try:
            await self._take_message(frame)
        finally:
            await self._end_turn()

    async def _end_turn(self) -> None:
        async with self._lock:
            held, self._turn = self._turn or [], None
            for payload in held:
                if self._fresh(payload):
                    await self._send_locked(payload)

    async def _take_message(self, frame: UserText) -> None:
        if frame.language is not None:
            self._language = self._supported(frame.language) or self._language
        message = InboundMessage(
            channel=Channel.CHAT,
            address=self._session,
            text=frame.text,
            key=f"chat:{self._session}:{frame.id}",
            conversation=self._session,
            language=self._language,
        )
        try:
            answer = await self._s.deadline.run(self._take(frame, message))
            if answer is None:
                return
        except StoreUnavailable as exc:
            log.warning("chat_store_unavailable", error=str(exc))
            await self._send(
                error_frame("store_unavailable", _STORE_DOWN, frame_id=frame.id, retry=True)
            )
            return
        except Exception:
            log.exception("chat_message_failed")
            await self._send(
                error_frame("internal", "the message could not be taken", frame_id=frame.id)
            )
            return
        self._contact(answer.contact.id)
        ack: dict[str, Any] = {"type": "ack", "id": frame.id, "duplicate": answer.duplicate}
        if answer.stored_text is not None and answer.stored_text != frame.text:
            ack["text"] = answer.stored_text  # as kept: an auth code masked on screen too
        await self._send(ack)
        for prompt in answer.prompts:
            await self._send(
                {
                    "type": "prompt",
                    "text": prompt.text,
                    "language": prompt.language,
                    "reply_to": frame.id,
                }
            )
        if answer.position is not None:
            await self._queued(answer.position.ahead + 1, wait_min(answer.wait_s))
        if answer.contact.state in (ContactState.WAITING, ContactState.ASSIGNED):
            self._watch()

    async def _typing(self) -> None:
        now = time.monotonic()
        if self._contact_id is None or now - self._typed < self._s.typing_every_s:
            return
        self._typed = now
        frame = {
            "type": "typing",
            "channel": str(Channel.CHAT),
            "contact_id": self._contact_id,
            "at": to_iso(self._s.clock()),
        }
        with contextlib.suppress(StoreUnavailable):  # best effort: nothing is lost
            await self._s.pubsub.publish(typing_channel(self._contact_id), dump(frame))

    # -- frames out ------------------------------------------------------------------------
    async def _welcome(self, token: str, resumed: bool) -> None:
        status = await self._s.inbox.hold(Channel.CHAT, self._session) if resumed else None
        history: list[dict[str, Any]] = []
        if status is not None:
            self._contact(status.contact.id)
            stored = await self._s.history(status.contact.id)
            history = [item for m in stored if (item := history_item(m)) is not None]
        await self._send(
            {
                "type": "welcome",
                "session": token,
                "resumed": status is not None,
                "language": status.contact.language if status else None,
                "history": history,
                "limits": {"max_message_chars": self._s.max_message_chars},
            }
        )
        log.info("chat_connected", resumed=status is not None)
        if status is not None and await self._status(status) is False:
            self._watch()

    async def _forward(self, replies: AsyncIterator[str]) -> None:
        try:
            async for payload in replies:
                if self._turn is not None:
                    self._turn.append(payload)
                elif self._fresh(payload):
                    await self._send_raw(payload)
        except StoreUnavailable as exc:
            # The pub/sub connection is gone: the page reconnects and subscribes again.
            log.warning("chat_pubsub_lost", error=str(exc))
            await self._send(error_frame("store_unavailable", "reconnect", retry=True))
            await self._ws.close()

    def _fresh(self, payload: str) -> bool:
        """Keep this socket's idea of the contact in step with what agents did (frames the
        router publishes from any process); False for news the page already has."""
        if not payload.startswith(('{"type":"joined"', '{"type":"closed"')):
            return True
        frame = json.loads(payload)
        if frame["type"] == "joined":
            if frame.get("author") == self._agent:
                return False
            self._agent, self._last_queued = frame.get("author"), None
            return True
        if self._closed_sent:
            return False
        self._closed_sent = True
        return True

    def _watch(self) -> None:
        """Have the board push this contact's place while it is in a queue."""
        if self._contact_id is not None:
            self._s.board.watch(self._contact_id, self._standing)

    async def _standing(self, standing: Standing) -> None:
        self._agent = None  # waiting: whoever had it let it go
        await self._queued(standing.position, wait_min(standing.wait_s))

    async def _status(self, status: HoldStatus) -> bool | None:
        """Tell the page what changed: False while the contact waits or is being served,
        True once it is over, None when it is still in the flow."""
        self._contact(status.contact.id)
        state = status.contact.state
        if state is ContactState.WAITING and status.position is not None:
            self._agent = None
            await self._queued(status.position.ahead + 1, wait_min(status.wait_s))
            return False
        if state is ContactState.ASSIGNED:
            agent = status.agent.name if status.agent else status.contact.agent
            self._last_queued = None
            if agent != self._agent:
                self._agent = agent
                await self._send({"type": "joined", "author": agent})
            return False
        if state.is_final:
            if not self._closed_sent:
                self._closed_sent = True
                await self._send({"type": "closed", "state": str(state)})
            return True
        return None

    async def _queued(self, position: int, minutes: int) -> None:
        if self._last_queued != (position, minutes):
            self._last_queued = (position, minutes)
            await self._send({"type": "queued", "position": position, "wait_min": minutes})

    def _contact(self, contact_id: str) -> None:
        if contact_id != self._contact_id:
            self._contact_id = contact_id
            self._last_queued, self._agent, self._closed_sent = None, None, False
            structlog.contextvars.bind_contextvars(contact_id=contact_id)

    def _supported(self, language: str | None) -> str | None:
        return language if language in self._s.languages else None

    async def _send(self, frame: dict[str, Any]) -> None:
        await self._send_raw(dump(frame))

    async def _send_raw(self, payload: str) -> None:
        async with self._lock:
            await self._send_locked(payload)

    async def _send_locked(self, payload: str) -> None:
        if self._ws.closed:
            return
        with contextlib.suppress(ConnectionResetError):
            await self._ws.send_str(payload)
