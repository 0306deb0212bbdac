"""Quick turns (``router/contacts/quick.py``): a message that only moves its flow along is
one read and one store write, on every backend, and concurrent messages of one conversation
(in one process or two) still make one contact with every message kept."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from channels import InboundMessage
from queues import Channel, ContactState, Direction, Store
from router.app.factory import create_app
from router.contacts.replay import handled_keys
from router.contacts.service import ContactService
from router.http.context import CONTEXT
from tests.conftest import FakeClock, StoreMaker
from tests.router.conftest import ENV, repo_config
from tests.router.testchannel import texts

#: What the contact service's own steps call on the store (the outage watch aside).
CONVERSATION_OPS = {
    "get_session",
    "get_session_tagged",
    "put_session",
    "put_session_if",
    "intake",
    "append_message",
    "update_contact",
    "acquire_lock",
    "release_lock",
    "get_contact",
    "get_sessions",
    "apply_turn",
}


class Counting:
    """A store that counts the calls made to it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return call

    def conversation_calls(self) -> dict[str, int]:
        return {k: v for k, v in self.calls.items() if k in CONVERSATION_OPS}


@contextlib.asynccontextmanager
async def service_on(store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[ContactService]:
    """The contact service of a started app on ``store``."""
    app = create_app(
        repo_config(tmp_path), store, clock=clock, adapters=lambda ctx: [], env=ENV, reaper=False
    )
    async with TestClient(TestServer(app)) as client:
        yield client.app[CONTEXT].service


@pytest.fixture
async def counted(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[ContactService, Counting]]:
    store = Counting(await make_store(clock))
    async with service_on(store, clock, tmp_path) as service:
        yield service, store


def sms(address: str, text: str, key: str) -> InboundMessage:
    return InboundMessage(Channel.SMS, address, text, key)


async def test_a_first_message_is_one_store_write_once_the_incident_book_is_known(
    counted: tuple[ContactService, Counting],
) -> None:
    service, store = counted
    store.calls.clear()
    answer = await service.receive(sms("+48500100300", "Dzień dobry, nie działa internet", "SM1"))
    assert answer.contact.state is ContactState.IN_FLOW and len(answer.prompts) == 2
    assert store.conversation_calls() == {"get_sessions": 1, "apply_turn": 1}  # the book read
    contact = await store.inner.get_contact(answer.contact.id)
    assert [m.direction for m in contact.messages] == [Direction.IN, Direction.OUT, Direction.OUT]
    assert [m.text for m in contact.messages[1:]] == texts(answer)
    session = await store.inner.get_session(f"sms:{answer.contact.address}")
    assert session is not None and handled_keys(session) == ["SM1"]
    store.calls.clear()
    other = await service.receive(sms("+48500100310", "Dzień dobry, nie działa internet", "SM2"))
    assert other.contact.id != answer.contact.id and len(other.prompts) == 2
    assert store.conversation_calls() == {"apply_turn": 1}  # no read at all


async def test_the_next_message_is_one_write_where_the_last_turn_was_taken(
    counted: tuple[ContactService, Counting],
) -> None:
    service, store = counted
    first = await service.receive(sms("+48500100301", "Dzień dobry", "SM1"))
    store.calls.clear()
    second = await service.receive(sms("+48500100301", "jan.kowalski", "SM2"))
    assert second.contact.id == first.contact.id and second.expect is not None
    assert second.expect.secret  # the code is asked for next
    assert store.conversation_calls() == {"apply_turn": 1}
    # A retry of a message already answered takes the locked path and says the same again.
    again = await service.receive(sms("+48500100301", "jan.kowalski", "SM2"))
    assert again.duplicate and texts(again) == texts(second)
    contact = await store.inner.get_contact(first.contact.id)
    assert [m.text for m in contact.messages if m.direction is Direction.IN] == [
        "Dzień dobry",
        "jan.kowalski",
    ]


async def test_a_process_that_did_not_take_the_last_turn_reads_and_turns_again(
    counted: tuple[ContactService, Counting],
) -> None:
    service, store = counted
    first = await service.receive(sms("+48500100304", "Dzień dobry", "SM1"))
    service.quick.forget("sms:+48500100304")  # as in another process
    store.calls.clear()
    second = await service.receive(sms("+48500100304", "jan.kowalski", "SM2"))
    assert second.contact.id == first.contact.id and second.expect is not None
    # Guessed a new conversation: refused, read, then turned.
    assert store.conversation_calls() == {"apply_turn": 2, "get_sessions": 1, "get_contact": 1}
    assert len(await store.inner.list_contacts(address="+48500100304")) == 1


async def test_a_turn_computed_from_an_old_incident_book_is_taken_again(
    counted: tuple[ContactService, Counting],
) -> None:
    service, store = counted
    await service.receive(sms("+48500100305", "Dzień dobry", "SM1"))  # the book is known
    book = service.incidents
    await book.update(lambda current: (current, None))  # another process wrote the book
    store.calls.clear()
    answer = await service.receive(sms("+48500100306", "Dzień dobry", "SM2"))
    assert answer.contact.state is ContactState.IN_FLOW
    assert store.conversation_calls() == {"apply_turn": 2, "get_sessions": 1}


async def test_concurrent_messages_of_one_conversation_make_one_contact(
    counted: tuple[ContactService, Counting],
) -> None:
    service, store = counted
    sent = [sms("+48500100302", f"wiadomość {n}", f"SM{n}") for n in range(6)]
    answers = await asyncio.gather(*(service.receive(m) for m in sent))
    assert len({a.contact.id for a in answers}) == 1
    contact = await store.inner.get_contact(answers[0].contact.id)
    inbound = sorted(m.text for m in contact.messages if m.direction is Direction.IN)
    assert inbound == sorted(m.text or "" for m in sent)
    assert len(await store.inner.list_contacts(address="+48500100302")) == 1
    session = await store.inner.get_session("sms:+48500100302")
    assert session is not None and sorted(handled_keys(session)) == sorted(m.key for m in sent)
