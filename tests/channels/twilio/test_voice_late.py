"""A caller is kept, not dropped, when the router is slow for a moment: a step whose work
passes the ingest deadline is answered with a redirect to the same step, which waits for that
work again. The simulated caller (ivr.simulator) follows the redirects as Twilio does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from ivr.simulator.call import Outcome
from queues import ContactState, Direction, Store, Turn, TurnResult
from tests.channels.twilio.voice_support import Phone, call_form, phone, requests, said, twiml
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "redis"]
DEADLINE_S = 0.2
CODE = "482913"


class Stalling:
    """The store, with every quick turn taking ``delay_s`` longer (a stalled store, or a
    router too busy to get to it): longer than the deadline, shorter than two of them."""

    def __init__(self, inner: Store, delay_s: float) -> None:
        self._inner = inner
        self.delay_s = delay_s
        self.turns = 0

    async def apply_turn(self, turn: Turn) -> TurnResult:
        self.turns += 1
        await asyncio.sleep(self.delay_s)
        return await self._inner.apply_turn(turn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
async def stalling(store: Store) -> Stalling:
    return Stalling(store, delay_s=DEADLINE_S * 1.5)


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, stalling: Stalling) -> AsyncIterator[Phone]:
    async with phone(tmp_path, clock, cast(Store, stalling), deadline_s=DEADLINE_S) as running:
        yield running


async def test_a_slow_store_keeps_the_caller_to_the_queue(desk: Phone, stalling: Stalling) -> None:
    result = await desk.call(f"2 1001# {CODE}# 2")
    assert result.outcome is Outcome.ABANDONED and result.reason == "max_hold"  # on hold
    urls = [r["url"] for r in requests(result)]
    late = [u for u in urls if "late=1" in u]
    assert late, urls  # the quick turns passed the deadline and were rejoined
    assert not any("late=2" in u for u in urls)  # each within one more deadline
    contact = await desk.contact(result.call_sid)
    assert contact.team == "technical" and contact.verified and contact.language == "en"
    inbound = [m.text for m in contact.messages if m.direction is Direction.IN]
    assert inbound == ["", "2", "1001", "••••••", "2"]  # every answer, once
    assert contact.state is ContactState.ABANDONED  # it hung up on hold
    assert said(result)[4] == "Please enter your customer number, followed by the hash key."
    assert stalling.turns >= len(late)


async def test_the_redirect_answers_the_step_the_late_work_took(
    desk: Phone, stalling: Stalling
) -> None:
    form = call_form("CA" + "7" * 32)
    first = await desk.post("/twilio/voice", form)
    body = await first.text()
    assert first.status == 200
    again = twiml(body).find("Redirect")
    assert again is not None and again.text == "/twilio/voice/step?n=0&late=1"
    kept = await desk.post(again.text, form)
    menu = twiml(await kept.text())
    gather = menu.find("Gather")
    assert kept.status == 200 and gather is not None
    assert gather.get("action") == "/twilio/voice/step?n=1"
    # Twilio's own retry of the first webhook now replays it: one contact, one message.
    replay = await desk.post("/twilio/voice", form)
    assert replay.status == 200 and "Gather" in await replay.text()
    contacts = await desk.store.list_contacts(channel="voice")
    assert len(contacts) == 1
    assert len((await desk.store.get_contact(contacts[0].id)).messages) > 1


async def test_a_rejoin_on_another_router_replays_from_the_store(
    desk: Phone, stalling: Stalling
) -> None:
    """The redirect may reach a router that did not start the work: the step's key replays
    what the first one stored."""
    form = call_form("CA" + "8" * 32)
    first = await desk.post("/twilio/voice", form)
    assert "late=1" in await first.text()
    await asyncio.sleep(DEADLINE_S * 2)  # the late work is over: nothing left to rejoin here
    kept = await desk.post("/twilio/voice/step?n=0&late=1", form)
    assert kept.status == 200
    assert twiml(await kept.text()).find("Gather") is not None
    assert len(await desk.store.list_contacts(channel="voice")) == 1


async def test_a_late_step_out_of_range_is_refused(desk: Phone) -> None:
    form = call_form("CA" + "9" * 32)
    refused = await desk.post("/twilio/voice/step?n=0", form)  # 0 only when late
    assert refused.status == 400
