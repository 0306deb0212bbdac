"""Callbacks that reach nobody, and callbacks booked out of hours, through the real voice and
SMS channels on loopback with the REST API stand-in posting no-answer and busy; on every
store. The clock is the test's: a try due later is dialled by ``run_due`` once it moved."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from channels.twilio import CallbackState, sign
from ivr.simulator.call import Call, CallSpec, Outcome
from ivr.simulator.callback import answered_spec
from ivr.simulator.keys import ScriptKeys
from queues import ContactState, Store
from tests.channels.twilio.callback_support import RETRY_S, Desk, callback_desk
from tests.channels.twilio.voice_support import (
    AUTH_TOKEN,
    CALLER,
    OUR_NUMBER,
    SPEED,
    to_saturday,
    twiml,
)
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SID = "CA" + "d" * 32


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, store: Store) -> AsyncIterator[Desk]:
    async with callback_desk(tmp_path, clock, store) as running:
        yield running


async def booked(desk: Desk) -> str:
    """A caller queued who booked a callback and hung up: their contact's id."""
    contact_id = await desk.queue_caller(SID)
    await desk.book(SID)
    assert await desk.hang_up(SID) == 204
    return contact_id


async def until_state(desk: Desk, contact_id: str, state: CallbackState, attempts: int) -> None:
    async def reached() -> bool:
        callback = await desk.callback(contact_id)
        return callback is not None and (callback.state, callback.attempts) == (state, attempts)

    await desk.until(reached)


async def test_a_callback_nobody_answers_is_tried_again_then_fails_with_an_sms(
    desk: Desk, clock: FakeClock
) -> None:
    contact_id = await booked(desk)
    status, _ = await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    await until_state(desk, contact_id, CallbackState.BOOKED, 1)  # try 1 rang out
    callback = await desk.callback(contact_id)
    assert callback is not None and callback.last_status == "no-answer"
    assert callback.due_at == pytest.approx(clock() + RETRY_S)
    assert await desk.callbacks.dialer.run_due() == []  # not before retry_s
    assert len(desk.api.placed) == 1

    clock.advance(RETRY_S)
    await desk.callbacks.dialer.run_due()  # (or the dialer's own loop: one of them dials)
    await until_state(desk, contact_id, CallbackState.BOOKED, 2)
    desk.api.unanswered[CALLER] = "busy"
    clock.advance(RETRY_S)
    await desk.callbacks.dialer.run_due()
    await until_state(desk, contact_id, CallbackState.FAILED, 3)
    assert [p.to for p in desk.api.placed] == [CALLER] * 3

    async def texted() -> bool:
        return len(desk.api.messages) == 1  # through the durable outbox

    await desk.until(texted)
    (sms,) = desk.api.messages
    assert (sms["To"], sms["From"]) == (CALLER, OUR_NUMBER)
    assert "We tried to call you back 3 times" in sms["Body"]
    contact = await desk.store.get_contact(contact_id, messages=False)
    assert contact.state is ContactState.ASSIGNED and contact.agent == "tomek"  # to resolve
    status, view = await desk.phone.api("tomek", "GET", f"/api/contacts/{contact_id}")
    shown = view["callback"]
    assert (shown["state"], shown["attempts"], shown["last_status"]) == ("failed", 3, "busy")
    assert shown["sms"] is True
    kinds = [e.kind for e in await desk.store.events(contact_id)]
    assert kinds.count("callback_dialed") == 3 and kinds.count("callback_unanswered") == 2
    assert "callback_failed" in kinds


async def test_a_released_callback_keeps_its_place_and_the_next_claim_dials_when_due(
    desk: Desk, clock: FakeClock
) -> None:
    contact_id = await booked(desk)
    before = await desk.store.get_contact(contact_id, messages=False)
    await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    await until_state(desk, contact_id, CallbackState.BOOKED, 1)
    status, _ = await desk.phone.api("tomek", "POST", f"/api/contacts/{contact_id}/release")
    assert status == 200
    after = await desk.store.get_contact(contact_id, messages=False)
    assert after.state is ContactState.WAITING and after.score == before.score
    clock.advance(RETRY_S)
    assert await desk.callbacks.dialer.run_due() == []  # nobody holds it: the claim dials
    assert len(desk.api.placed) == 1
    status, claimed = await desk.phone.api("ania", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200 and claimed["id"] == contact_id
    await until_state(desk, contact_id, CallbackState.BOOKED, 2)
    callback = await desk.callback(contact_id)
    assert callback is not None and callback.agent == "ania"


async def test_out_of_hours_the_callback_is_booked_for_the_opening(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    to_saturday(clock)
    async with callback_desk(tmp_path, clock, store) as desk:
        contact_id = await desk.queue_caller(SID)
        said = twiml(await desk.book(SID))
        assert "when we open: Mon 10:00" in (said[0].text or "")
        callback = await desk.callback(contact_id)
        assert callback is not None
        opens = datetime.fromtimestamp(callback.due_at, UTC).astimezone(ZoneInfo("Europe/Warsaw"))
        assert (opens.strftime("%a %H:%M"), callback.state) == ("Mon 10:00", CallbackState.BOOKED)
        assert await desk.hang_up(SID) == 204

        # An agent at work on Saturday claims it: nobody is called before the opening.
        status, _ = await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200

        async def scheduled() -> bool:
            return await desk.callbacks.book.next_due() == callback.due_at

        await desk.until(scheduled)
        assert desk.api.placed == [] and await desk.callbacks.dialer.run_due() == []
        clock.now = callback.due_at
        await desk.callbacks.dialer.run_due()
        await until_state(desk, contact_id, CallbackState.BOOKED, 1)  # dialled, rang out
        assert [p.to for p in desk.api.placed] == [CALLER]


async def test_a_try_twilio_cannot_be_asked_for_counts_and_is_made_again_later(
    desk: Desk, clock: FakeClock
) -> None:
    contact_id = await booked(desk)
    await desk.api.aclose()  # Twilio's API is down: the claim still succeeds
    status, _ = await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    await until_state(desk, contact_id, CallbackState.BOOKED, 1)
    callback = await desk.callback(contact_id)
    assert callback is not None and callback.last_status == "failed"
    assert callback.due_at == pytest.approx(clock() + RETRY_S)


async def test_a_customer_called_back_after_the_agent_let_go_holds_in_place_then_is_put_through(
    desk: Desk,
) -> None:
    contact_id = await booked(desk)
    desk.api.phone(CALLER)
    await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    placed = await desk.api.ringing(CALLER, timeout_s=10)
    assert placed is not None
    await desk.phone.api("tomek", "POST", f"/api/contacts/{contact_id}/release")
    # The customer answers now: nobody holds the contact, so they hold on in its place.
    async with aiohttp.ClientSession() as session:
        spec = answered_spec(placed, CallSpec(speed=SPEED, max_hold_s=600))
        call = Call(session, spec, ScriptKeys(()), sign=partial(sign, AUTH_TOKEN), api=desk.api)
        running = asyncio.create_task(call.run())

        async def holding() -> bool:
            return call.on_hold

        await desk.until(holding)
        status, claimed = await desk.phone.api(
            "ania", "POST", "/api/claim", {"teams": ["technical"]}
        )
        assert status == 200 and claimed["id"] == contact_id
        async with asyncio.timeout(10):
            result = await running
    assert result.outcome is Outcome.CONNECTED and result.agent == "ania", result.error
    assert [r["CallSid"] for r in desk.api.redirects] == [placed.call_sid]  # pushed, not polled
