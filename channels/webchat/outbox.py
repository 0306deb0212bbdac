"""Agent replies and agent typing for web chat customers, carried over the store's pub/sub.

Whichever process sends the reply publishes it on the session's channel; the process that
holds the customer's websocket (with Redis, possibly another one) forwards it. A customer
who is offline misses the live frame but reads the reply in the history on reconnect: the
agent desk records every reply on the contact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from channels.base import Reply
from channels.errors import SendFailed
from channels.limits import Counters
from channels.webchat.protocol import SessionTokens, chat_channel, dump
from queues import Channel, StoreUnavailable, new_id, now_s, to_iso

__all__ = ["ChatOutbox", "PubSub", "Publisher", "agent_typing"]


class Publisher(Protocol):
    async def publish(self, channel: str, payload: str) -> None: ...


class PubSub(Publisher, Counters, Protocol):
    """What the web chat needs of the store: pub/sub and counters (``queues.Store``)."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]: ...


class ChatOutbox:
    """Sends an agent's reply to the customer's chat session (``reply.address``)."""

    channel = Channel.CHAT

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def send(self, reply: Reply) -> str | None:
        if not SessionTokens.is_session(reply.address):
            raise SendFailed(
                str(Channel.CHAT), f"{reply.address!r} is not a chat session id", retryable=False
            )
        provider_id = f"chat-{new_id()}"
        frame = {
            "type": "agent",
            "id": provider_id,
            "text": reply.text,
            "author": reply.author,
            "at": to_iso(now_s()),
        }
        try:
            await self._publisher.publish(chat_channel(reply.address), dump(frame))
        except StoreUnavailable as exc:
            raise SendFailed(str(Channel.CHAT), f"pub/sub is unavailable: {exc}") from exc
        return provider_id


async def agent_typing(publisher: Publisher, session: str, *, author: str | None = None) -> None:
    """Show "agent is typing" in the customer's page (the agent console calls this).

    ``session`` is the chat contact's address. Best effort: nothing is stored, and a
    customer who is offline simply does not see it.
    """
    if SessionTokens.is_session(session):
        frame = {"type": "agent_typing", "author": author}
        await publisher.publish(chat_channel(session), dump(frame))
