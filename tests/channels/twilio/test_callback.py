"""Callback keeping the place, through the real voice channel on loopback: a caller on hold
presses 1, the call ends and the contact keeps its place; a claim calls the customer back
through the REST API (the IVR simulator's stand-in), and the simulated customer answers and
is put through to the agent; on every store."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import aiohttp
import pytest

from channels.twilio import CallbackState, sign
from ivr.simulator import CliOptions, run_cli
from ivr.simulator.call import CallSpec, Outcome
from ivr.simulator.callback import answer
from ivr.simulator.keys import ScriptKeys
from queues import ContactState, Store
from router.desk import CALL_ENDED
from tests.channels.twilio.callback_support import Desk, callback_desk
from tests.channels.twilio.voice_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER,
    OUR_NUMBER,
    SPEED,
    call_form,
    said,
    twiml,
)
from tests.conftest import FakeClock
from tests.redis_server import free_port

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SID = "CA" + "c" * 32
PRESS = "2 1001# 482913# 2"
TOMEK_PHONE = "+48500999888"
HELLO = "Hello, this is customer service calling you back, as you asked."


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, store: Store) -> AsyncIterator[Desk]:
    async with callback_desk(tmp_path, clock, store) as running:
        yield running


async def test_pressing_1_on_hold_ends_the_call_and_the_contact_keeps_its_place(
    desk: Desk,
) -> None:
    first = await desk.queue_caller("CA" + "1" * 32, from_number="+48500100201")
    booker = await desk.queue_caller(SID)
    third = await desk.queue_caller("CA" + "3" * 32, from_number="+48500100203")
    before = await desk.store.get_contact(booker, messages=False)
    order = await desk.store.waiting_order("technical")
    assert order == [first, booker, third]
    # The hold offers it with the position announcement.
    hold = twiml(await (await desk.phone.post("/twilio/voice/hold?w=0", call_form(SID))).text())
    offer = hold[0]
    assert (offer.tag, offer.get("numDigits"), offer.get("action")) == (
        "Gather",
        "1",
        "/twilio/voice/callback?w=0",
    )
    assert "press 1; you keep your place" in (offer[-1].text or "")
    form = call_form(SID, Digits="1")
    (gather, back) = twiml(await (await desk.phone.post("/twilio/voice/callback?w=0", form)).text())
    assert "ending in 0 2 0 0" in (gather[0].text or "") and gather.get("finishOnKey") == "#"
    assert back.text == "/twilio/voice/hold?w=1"  # nothing pressed: holding on, not booked

    booked = twiml(await desk.book(SID))
    assert [v.tag for v in booked] == ["Say", "Hangup"]
    assert "You keep your place in the queue, number 2" in (booked[0].text or "")
    assert await desk.hang_up(SID) == 204  # the call ends: Twilio's status callback

    after = await desk.store.get_contact(booker, messages=False)
    assert after.state is ContactState.WAITING and after.score == before.score
    assert await desk.store.waiting_order("technical") == order  # nobody moved
    status, view = await desk.phone.api("tomek", "GET", f"/api/contacts/{booker}")
    assert status == 200 and view["position"] == 2
    shown = view["callback"]
    assert (shown["number"], shown["state"], shown["attempts"]) == (CALLER, "booked", 0)
    assert shown["max_attempts"] == 3
    kinds = [e.kind for e in await desk.store.events(booker)]
    assert "callback_booked" in kinds and "contact_abandoned" not in kinds


async def test_a_claim_calls_the_customer_back_and_puts_them_through_to_the_agent(
    desk: Desk,
) -> None:
    desk.api.phone(CALLER)  # the customer's phone, listening for the call back
    result = await desk.phone.call(f"{PRESS} 1 #", max_hold_s=600, call_sid=SID, api=desk.api)
    assert result.outcome is Outcome.ENDED and result.reason == "hangup", result.error
    assert any("press 1" in text for text in said(result))
    contact = await desk.phone.contact(SID)
    assert contact.state is ContactState.WAITING  # the call is over, the place is kept

    status, claimed = await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200 and claimed["id"] == contact.id
    placed = await desk.api.ringing(CALLER, timeout_s=10)
    assert placed is not None and (placed.to, placed.from_) == (CALLER, OUR_NUMBER)
    async with aiohttp.ClientSession() as session:
        back = await answer(
            session,
            placed,
            CallSpec(speed=SPEED, max_hold_s=600),
            ScriptKeys(()),
            sign=partial(sign, AUTH_TOKEN),
            api=desk.api,
        )
    assert back.outcome is Outcome.CONNECTED and back.agent == TOMEK_PHONE, back.error
    assert said(back)[:2] == [HELLO, "Connecting you to an agent."]

    async def call_over() -> bool:
        held = await desk.store.get_contact(contact.id, messages=False)
        return CALL_ENDED in held.meta  # the status callback after the conversation

    await desk.until(call_over)
    held = await desk.store.get_contact(contact.id, messages=False)
    assert held.state is ContactState.ASSIGNED and held.agent == "tomek"
    callback = await desk.callback(contact.id)
    assert callback is not None and callback.state is CallbackState.CONNECTED
    assert (callback.attempts, callback.attempt_sid) == (1, placed.call_sid)
    kinds = [e.kind for e in await desk.store.events(contact.id)]
    assert kinds.index("callback_dialed") < kinds.index("callback_answered")


async def test_an_agent_who_takes_the_call_while_it_is_booked_gets_the_caller_on_the_line(
    desk: Desk,
) -> None:
    contact_id = await desk.queue_caller(SID)
    await desk.phone.post("/twilio/voice/callback?w=0", call_form(SID, Digits="1"))
    status, _ = await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    form = call_form(SID, Digits="", FinishedOnKey="#")
    (back,) = twiml(await (await desk.phone.post("/twilio/voice/callback/number", form)).text())
    assert (back.tag, back.text) == ("Redirect", "/twilio/voice/hold?w=1")
    assert await desk.callback(contact_id) is None  # nothing booked
    verbs = twiml(await (await desk.phone.post("/twilio/voice/hold?w=1", call_form(SID))).text())
    assert [v.tag for v in verbs] == ["Say", "Dial"]


async def test_another_number_can_be_typed_and_a_bad_one_is_asked_again(desk: Desk) -> None:
    contact_id = await desk.queue_caller(SID)
    asked = twiml(await desk.book(SID, typed="12"))
    assert asked[0].text == "That is not a valid phone number."
    assert asked[1].tag == "Gather" and str(asked[1].get("action")).endswith("number?t=1")
    assert await desk.callback(contact_id) is None
    booked = twiml(await desk.book(SID, typed="0048600111222"))
    assert "ending in 1 2 2 2" in (booked[0].text or "")
    callback = await desk.callback(contact_id)
    assert callback is not None and callback.number == "+48600111222"


async def test_a_caller_without_a_number_is_asked_for_one_and_silence_keeps_them_holding(
    desk: Desk,
) -> None:
    contact_id = await desk.queue_caller(SID, from_number="anonymous")
    form = call_form(SID, From="anonymous", Digits="1")
    gather, _ = twiml(await (await desk.phone.post("/twilio/voice/callback?w=0", form)).text())
    assert "enter the number we should call you back on" in (gather[0].text or "")
    silence = call_form(SID, From="anonymous", Digits="")
    (back,) = twiml(await (await desk.phone.post("/twilio/voice/callback/number", silence)).text())
    assert back.text == "/twilio/voice/hold?w=1"
    bad = twiml(await desk.book(SID, from_number="anonymous"))  # only #: no number of theirs
    assert bad[0].text == "That is not a valid phone number."
    assert await desk.callback(contact_id) is None
    other = call_form(SID, From="anonymous", Digits="5")
    (back,) = twiml(await (await desk.phone.post("/twilio/voice/callback?w=45", other)).text())
    assert back.text == "/twilio/voice/hold?w=45"  # not 1: back to holding


async def test_callback_webhooks_refuse_bad_input_with_a_reason(desk: Desk) -> None:
    form = call_form(SID, CallStatus="no-answer")
    response = await desk.phone.post("/twilio/voice/callback/status?a=1", form)
    assert response.status == 400 and "contact" in (await response.json())["error"]
    response = await desk.phone.post("/twilio/voice/callback/answer?c=x&a=0", form)
    assert response.status == 400
    unsigned = await desk.phone.client.post("/twilio/voice/callback?w=0", data=form)
    assert unsigned.status == 403
    # A try that is not under way (stale, or made up): the call is hung up, nothing changes.
    stale = await desk.phone.post("/twilio/voice/callback/answer?c=nobody&a=1", call_form(SID))
    assert [v.tag for v in twiml(await stale.text())] == ["Hangup"]
    ended = await desk.phone.post("/twilio/voice/callback/status?c=nobody&a=1", form)
    assert ended.status == 204


async def test_switchboard_call_callback_waits_for_the_call_back_and_talks_to_the_agent(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    async with callback_desk(tmp_path, clock, store, api_base_url=api_url) as desk:
        out, err = io.StringIO(), io.StringIO()
        options = CliOptions(
            url=desk.phone.base,
            press=PRESS,
            json=True,
            signed_base=desk.phone.base,
            twilio_api=("127.0.0.1", port),
            account_sid=ACCOUNT_SID,
            callback=True,
            max_hold_s=600,
            speed=SPEED,
        )
        sign_it = partial(sign, AUTH_TOKEN)
        call = asyncio.create_task(
            run_cli(options, sign=sign_it, out=out, err=err, auth_token=AUTH_TOKEN)
        )

        async def booked() -> bool:
            waiting = await desk.store.list_contacts(state=ContactState.WAITING)
            return bool(waiting) and await desk.callback(waiting[0].id) is not None

        await desk.until(booked)
        status, _ = await desk.phone.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200
        async with asyncio.timeout(10):
            assert await call == 0, err.getvalue()
    transcript = json.loads(out.getvalue())
    assert transcript["outcome"] == "ended" and transcript["callback"]["outcome"] == "connected"
    assert transcript["callback"]["agent"] == TOMEK_PHONE


async def test_switchboard_call_callback_needs_the_api_stand_in() -> None:
    err = io.StringIO()
    options = CliOptions(press=PRESS, callback=True)
    assert await run_cli(options, sign=None, out=io.StringIO(), err=err) == 2
    assert "--callback" in err.getvalue() and "--twilio-api" in err.getvalue()
