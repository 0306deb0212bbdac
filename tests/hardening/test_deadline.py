"""Every ingest answers within the deadline (issue 15), shown with a store that stops
answering: HTTP 503 with Retry-After (Twilio, Telegram), a chat error frame asking to send
again, SMTP 451; the work goes on, and the provider's retry is stored once."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from channels import Deadline
from queues import Store, StoreUnavailable
from tests.channels.email.support import make_mail
from tests.channels.telegram.support import update
from tests.channels.twilio.sms_support import twilio_form
from tests.conftest import FakeClock
from tests.hardening.support import Rig, full_rig

STORE_BACKENDS = ["memory", "sqlite"]


class Stalling:
    """A store whose writes of an inbound message (``intake``, ``apply_turn``) wait while
    ``go`` is clear (a store that hangs)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.go = asyncio.Event()
        self.go.set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in ("intake", "apply_turn") or not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            await self.go.wait()
            return await attr(*args, **kwargs)

        return call


@pytest.fixture
async def stalling(store: Store) -> Stalling:
    return Stalling(store)


@pytest.fixture
async def rig(tmp_path: Path, stalling: Stalling, clock: FakeClock) -> AsyncIterator[Rig]:
    changes = {"channels": {"ingest_deadline_s": 0.2}}
    async with full_rig(tmp_path, cast(Store, stalling), clock, **changes) as running:
        yield running


async def test_webhooks_answer_503_while_the_store_hangs_and_retries_count_once(
    rig: Rig, stalling: Stalling, store: Store
) -> None:
    form = twilio_form("faktura")
    tg = update("telegram", chat_id=77)
    stalling.go.clear()
    sms = await rig.twilio_post("/twilio/sms", form)
    telegram = await rig.telegram_post(tg)
    assert (sms.status, telegram.status) == (503, 503)
    assert sms.headers["Retry-After"] == "5" and "retries later" in (await sms.json())["error"]
    assert (await telegram.json())["ok"] is False
    stalling.go.set()
    assert (await rig.twilio_post("/twilio/sms", form)).status == 200
    assert (await rig.telegram_post(tg)).status == 200
    for channel in ("sms", "telegram"):
        (contact,) = await store.list_contacts(channel=channel)
        assert len((await store.get_contact(contact.id)).messages) >= 1
        assert [m.text for m in (await store.get_contact(contact.id)).messages].count(
            "faktura" if channel == "sms" else "telegram"
        ) == 1


async def test_a_chat_message_is_asked_again_while_the_store_hangs(
    rig: Rig, stalling: Stalling
) -> None:
    ws = await rig.client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello", "session": None, "language": "pl"})
    await ws.receive_json(timeout=10)
    stalling.go.clear()
    await ws.send_json({"type": "message", "id": "d1", "text": "halo"})
    refused = await ws.receive_json(timeout=10)
    assert (refused["reason"], refused["retry"], refused["id"]) == ("store_unavailable", True, "d1")
    stalling.go.set()
    await ws.send_json({"type": "message", "id": "d1", "text": "halo"})
    while (frame := await ws.receive_json(timeout=10))["type"] != "ack":
        pass
    assert frame["id"] == "d1"
    await ws.close()


async def test_smtp_answers_451_while_the_store_hangs(rig: Rig, stalling: Stalling) -> None:
    letter = make_mail(subject="Awaria", body="Nie działa.\n")
    stalling.go.clear()
    code, reply = await rig.mail(letter)
    assert code == 451 and b"try again later" in reply
    stalling.go.set()
    assert (await rig.mail(letter))[0] == 250


async def test_the_deadline_leaves_the_work_running_and_cancels_past_its_cap() -> None:
    deadline = Deadline(0.01, max_late=2)
    gates = [asyncio.Event() for _ in range(3)]

    async def slow(gate: asyncio.Event) -> str:
        await gate.wait()
        return "done"

    for gate in gates:
        with pytest.raises(StoreUnavailable, match=r"ingest deadline of 0\.01 s"):
            await deadline.run(slow(gate))
    assert deadline.late == 2  # the oldest was cancelled past the cap
    for gate in gates:
        gate.set()
    for _ in range(100):
        if deadline.late == 0:
            break
        await asyncio.sleep(0.01)
    assert deadline.late == 0
    assert await deadline.run(slow(gates[0])) == "done"
