"""The step that queues a contact as a quick turn (``Turn.enqueue``): an IVR call and an SMS
conversation reach their queue in one store write and a few reads, and leave what the
locked path leaves (history, events, queue entry, session); a turn the store refuses goes
the locked path as before."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from channels import Answer, InboundMessage
from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    Message,
    Store,
    Turn,
    TurnOutcome,
    TurnResult,
)
from router.contacts.replay import handled_keys
from router.contacts.service import ContactService
from router.contacts.standing import due_kind
from tests.conftest import FakeClock, StoreMaker
from tests.router.contacts.test_quick import CONVERSATION_OPS, Counting, service_on, sms

#: The calls that queue a contact on the locked path (none on the quick one).
QUEUE_OPS = CONVERSATION_OPS | {"enqueue", "position"}
#: The store calls of the enqueueing step on the locked path (voice; SMS alike): a turn
#: refused (before this change: a guess of a new conversation; now: the queueing turn when
#: the store refuses it), the read, then the lock and everything again.
LOCKED_STEP = {
    "apply_turn": 1,
    "get_sessions": 1,
    "get_contact": 2,
    "acquire_lock": 1,
    "get_session": 3,
    "intake": 1,
    "update_contact": 1,
    "enqueue": 1,
    "position": 1,
    "append_message": 1,
    "put_session": 1,
    "release_lock": 1,
}
#: Now: the read (the step before, the login and code in one text, went the locked path,
#: so the conversation is not guessed new), the turn with its enqueue, then the queue
#: prompt kept and the session saved.
QUICK_STEP = {
    "apply_turn": 1,
    "get_sessions": 1,
    "get_contact": 1,
    "append_message": 1,
    "put_session_if": 1,
}
#: A call's: its code was checked in a quick turn too, so this process knows where the
#: conversation stands and reads nothing first.
QUICK_CALL_STEP = {"apply_turn": 1, "append_message": 1, "put_session_if": 1}
#: ... and when the store refuses the turn, the locked path after the turn read again.
LOCKED_CALL_STEP = {**LOCKED_STEP, "apply_turn": 2}
CALL = ["2", "1001", "482913"]  # English, the customer number, the auth code: verified
TEXT = ["Dzień dobry", "jan.kowalski 482913"]  # no topic in it: the team menu follows


class Filing(Counting):
    """Counts, and keeps the documents put (the standings' filings)."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.docs: list[tuple[str, str, dict[str, Any]]] = []

    async def put_doc(self, kind: str, key: str, data: dict[str, Any], **kw: Any) -> str | None:
        self.calls["put_doc"] += 1
        self.docs.append((kind, key, data))
        return await self.inner.put_doc(kind, key, data, **kw)


class Refusing(Filing):
    """A store that refuses every turn that would queue while ``refuse`` is set (as when
    another process wrote the session first), so the router takes its locked path."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.refuse = True

    async def apply_turn(self, turn: Turn) -> TurnResult:
        self.calls["apply_turn"] += 1
        if turn.enqueue is not None and self.refuse:
            return TurnResult(TurnOutcome.CHANGED)
        return await self.inner.apply_turn(turn)


@pytest.fixture
async def quick(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[ContactService, Filing]]:
    store = Filing(await make_store(clock))
    async with service_on(store, clock, tmp_path) as service:
        yield service, store


def voice(call: str, step: int, digits: str | None) -> InboundMessage:
    return InboundMessage(
        Channel.VOICE,
        "+48600100200",
        digits,
        f"voice:{call}:{step}",
        conversation=call,
        meta={"call_sid": call, "to": "+48221000000"},
    )


async def call(service: ContactService, store: Counting, sid: str) -> Answer:
    """A call to the team menu, then "2" (technical): the answer to that last step."""
    for step, digits in enumerate([None, *CALL]):
        await service.receive(voice(sid, step, digits))
    store.calls.clear()
    return await service.receive(voice(sid, 1 + len(CALL), "2"))


async def text(service: ContactService, store: Counting, address: str) -> Answer:
    """An SMS conversation to the team menu, then "1" (billing)."""
    for n, said in enumerate(TEXT):
        await service.receive(sms(address, said, f"SM{address}-{n}"))
    store.calls.clear()
    return await service.receive(sms(address, "1", f"SM{address}-menu"))


def queue_calls(store: Counting) -> dict[str, int]:
    return {k: v for k, v in store.calls.items() if k in QUEUE_OPS}


async def test_a_call_reaches_its_queue_in_one_turn(
    quick: tuple[ContactService, Counting],
) -> None:
    service, store = quick
    answer = await call(service, store, "CA1")
    assert queue_calls(store) == QUICK_CALL_STEP  # the locked path: LOCKED_STEP
    assert answer.contact.state is ContactState.WAITING and answer.contact.team == "technical"
    assert answer.position is not None and answer.position.ahead == 0 and answer.expect is None
    assert answer.prompts[-1].text.startswith("You are number 1 in the queue.")
    assert store.calls["fcr_arrived"] == 1 and store.calls["publish"] == 1  # hook, wake-up
    contact = await store.inner.get_contact(answer.contact.id)
    assert [m.text for m in contact.messages[-2:]] == ["2", answer.prompts[-1].text]
    assert contact.account == "jan.kowalski" and contact.sla_due is not None
    session = await store.inner.get_session("voice:CA1")
    assert session is not None and session.get("flow") is None
    assert session["queue_prompt"] == "queued" and handled_keys(session)[-1] == "voice:CA1:4"
    # A second caller is told their place behind the first, from the turn's answer.
    second = await call(service, store, "CA2")
    assert queue_calls(store) == QUICK_CALL_STEP
    assert second.position is not None and second.position.ahead == 1
    assert second.prompts[-1].text.startswith("You are number 2 in the queue.")
    # A retry of the step is answered as a retry, with the same words, queueing nothing.
    again = await service.receive(voice("CA2", 1 + len(CALL), "2"))
    assert again.duplicate and again.prompts == second.prompts
    assert (await store.inner.queue_stats(["technical"]))[0].waiting == 2


async def test_an_sms_conversation_reaches_its_queue_in_one_turn(
    quick: tuple[ContactService, Filing],
) -> None:
    service, store = quick
    answer = await text(service, store, "+48500100400")
    assert queue_calls(store) == QUICK_STEP
    assert answer.contact.state is ContactState.WAITING and answer.contact.team == "billing"
    assert answer.prompts[-1].text.startswith("Twoja sprawa czeka w kolejce (miejsce 1,")
    # The second in line is filed for the unasked update of its wait, as the locked path
    # files it (the first: no large change can come).
    store.docs.clear()
    second = await text(service, store, "+48500100401")
    assert queue_calls(store) == QUICK_STEP
    assert second.prompts[-1].text.startswith("Twoja sprawa czeka w kolejce (miejsce 2,")
    due = due_kind("billing", 0)[:-1]
    ((kind, key, _),) = [doc for doc in store.docs if doc[0].startswith(due)]
    assert key == second.contact.id
    assert (await store.inner.get_doc(kind, key))[0] is not None


@pytest.mark.parametrize("conversation", ["call", "text"])
async def test_the_quick_turn_leaves_what_the_locked_path_leaves(
    make_store: StoreMaker, clock: FakeClock, tmp_path: Path, conversation: str
) -> None:
    store = Refusing(await make_store(clock))
    async with service_on(store, clock, tmp_path) as service:

        async def converse(n: int) -> tuple[Answer, str, str]:
            """The conversation to its queue: the answer, its session key and last key."""
            if conversation == "call":
                sid = f"CA{n}"
                return await call(service, store, sid), f"voice:{sid}", f"voice:{sid}:4"
            address = f"+4850010040{n}"
            answer = await text(service, store, address)
            return answer, f"sms:{address}", f"SM{address}-menu"

        # One waits already, served first (the second in line is filed for updates).
        team = "technical" if conversation == "call" else "billing"
        first = Contact(Channel.SMS, "+48500999999", clock())
        await store.inner.intake(first, Message(Direction.IN, "pilne", clock()))
        await store.inner.enqueue(first.id, team, delay_s=600)
        locked = await converse(1)
        refused = LOCKED_CALL_STEP if conversation == "call" else LOCKED_STEP
        assert queue_calls(store) == refused  # the turn refused, then the locked path
        before = await snapshot(store, *locked)
        await store.inner.remove(locked[0].contact.id)  # the next one is second in line too
        store.refuse = False
        quick = await converse(2)
        assert queue_calls(store) == (QUICK_CALL_STEP if conversation == "call" else QUICK_STEP)
        assert await snapshot(store, *quick) == before


async def snapshot(filing: Filing, answer: Answer, key: str, last: str) -> dict[str, Any]:
    """What a conversation left once queued, without what differs between two of them
    (ids, addresses, call sids, message keys)."""
    store: Store = filing.inner
    contact = await store.get_contact(answer.contact.id)
    messages = [
        (m.direction, m.text, m.template, dict(m.params), _plain(m.meta)) for m in contact.messages
    ]
    events = [
        (e.kind, e.team, e.agent, {} if e.kind.startswith("message") else e.data)
        for e in await store.events(contact.id)
    ]
    session = dict(await store.get_session(key) or {})
    assert session.pop("contact_id") == contact.id and handled_keys(session)[-1] == last
    session.pop("handled")
    stripped = dataclasses.replace(
        contact, id="", address="", messages=(), meta=_plain(contact.meta)
    )
    position = answer.position.ahead if answer.position else None
    said = [(p.text, p.language) for p in answer.prompts]
    filed = [(kind, data) for kind, id_, data in filing.docs if id_ == contact.id]
    return {
        "answer": (said, answer.expect, position, answer.wait_s),
        "filed": filed,
        "contact": stripped,
        "messages": messages,
        "events": events,
        "session": session,
    }


def _plain(meta: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(meta).items() if k != "call_sid"}
