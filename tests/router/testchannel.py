"""An in-process channel implementing the same Inbox/Outbox Protocols as the real ones."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from channels.base import Answer, InboundMessage, Inbox, Reply, SendFailed
from queues import Channel


@dataclass
class TestChannel:
    """Customers 'type' with ``say``; agent replies land in ``sent``."""

    __test__ = False  # not a pytest test class

    inbox: Inbox | None = None
    channel: Channel = Channel.SMS
    sent: list[Reply] = field(default_factory=list)
    fail_next: int = 0
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def say(
        self, address: str, text: str | None, *, key: str | None = None, language: str | None = None
    ) -> Answer:
        assert self.inbox is not None
        message = InboundMessage(
            channel=self.channel,
            address=address,
            text=text,
            key=key or f"test:{address}:{next(self._keys)}",
            language=language,
        )
        return await self.inbox.receive(message)

    async def send(self, reply: Reply) -> str | None:
        if self.fail_next:
            self.fail_next -= 1
            raise SendFailed(str(self.channel), "the provider answered 500")
        self.sent.append(reply)
        return f"{self.channel}-{len(self.sent)}"


def texts(answer: Answer) -> list[str]:
    return [p.text for p in answer.prompts]
