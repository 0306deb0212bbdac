"""Pushed hold: one webhook per announcement while the caller waits, and a claim that puts
the caller through at once by redirecting the live call through the REST API (played by
the IVR simulator's stand-in for Twilio's API), on every store."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import cast

import aiohttp
import pytest

from channels import CLAIMED, AgentTarget, Inbox
from channels.twilio import CallControl, TwilioVoice, sign
from ivr.simulator import Call, CallSpec, CliOptions, ScriptKeys, run_cli
from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Outcome
from queues import Channel, Contact, ContactState, Store, StoreUnavailable
from router.desk import CALL_ENDED
from tests.channels.twilio.voice_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Phone,
    call_form,
    pushed_phone,
    requests,
    twiml,
)
from tests.conftest import FakeClock
from tests.redis_server import free_port

STORE_BACKENDS = ["memory", "sqlite", "redis"]
CODE = "482913"
PRESS = f"2 1001# {CODE}# 2"  # English, verified, technical: queued
SID = "CA" + "b" * 32


@pytest.fixture
async def pushed(
    tmp_path: Path, clock: FakeClock, store: Store
) -> AsyncIterator[tuple[Phone, TwilioApi]]:
    async with pushed_phone(tmp_path, clock, store) as running:
        yield running


def hold_requests(result_events: list[dict[str, object]]) -> list[str]:
    return [str(e["url"]) for e in result_events if "/hold" in str(e["url"])]


async def test_a_waiting_caller_hears_the_wait_with_one_webhook_per_announcement(
    pushed: tuple[Phone, TwilioApi],
) -> None:
    desk, _ = pushed
    await desk.post("/twilio/voice", call_form(SID))
    for n, digits in enumerate(["2", "1001", CODE, "2"], 1):
        await desk.post(f"/twilio/voice/step?n={n}", call_form(SID, Digits=digits))
    # Right after the position: the callback offer (channels.twilio.callback), then hold.
    offer, pause, again = twiml(
        await (await desk.post("/twilio/voice/hold?w=0", call_form(SID))).text()
    )
    assert (offer.tag, [v.tag for v in offer]) == ("Gather", ["Say"])
    assert (pause.tag, pause.get("length")) == ("Pause", "45")  # not a 5 s poll
    assert (again.tag, again.text) == ("Redirect", "/twilio/voice/hold?w=45")
    offer, pause, again = twiml(
        await (await desk.post("/twilio/voice/hold?w=45", call_form(SID))).text()
    )
    said, offered = offer  # position and wait, every 45 s, then the offer again
    assert said.tag == "Say" and "1" in (said.text or "") and offered.tag == "Say"
    assert (pause.get("length"), again.text) == ("45", "/twilio/voice/hold?w=45")


async def test_a_claim_puts_the_caller_on_hold_through_without_a_poll(
    pushed: tuple[Phone, TwilioApi],
) -> None:
    desk, api = pushed
    # Real time (speed 1): the 45 s hold pause would outlast the test unless redirected.
    call = asyncio.create_task(desk.call(PRESS, max_hold_s=3600, call_sid=SID, speed=1, api=api))
    await desk.wait_until(SID, ContactState.WAITING)
    await asyncio.sleep(0.05)  # the caller is in the hold pause now
    loop = asyncio.get_running_loop()
    claimed_at = loop.time()
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200 and claimed["channel"] == "voice"
    async with asyncio.timeout(5):
        result = await call
    connected_in = loop.time() - claimed_at
    assert result.outcome is Outcome.CONNECTED and result.agent == "+48500999888"
    # The first hold only: no poll, and the claim's call update carries the dial itself
    # (no webhook back), its action absolute (TwiML given to the API has no URL of its own).
    holds = hold_requests(requests(result))
    assert [h.rsplit("/", 1)[-1] for h in holds] == ["hold?w=0"]
    (redirect,) = api.redirects
    assert redirect["CallSid"] == SID and "Url" not in redirect
    said, dial = twiml(redirect["Twiml"])
    assert (said.tag, dial.tag) == ("Say", "Dial")
    assert dial.get("action") == desk.base + "/twilio/voice/hold?dialed=1"
    assert connected_in < 2.0, connected_in  # measured in make bench; here: no 45 s wait
    # The status callback after the redirect keeps the contact with the agent.
    contact = await desk.contact(SID)
    assert contact.state is ContactState.ASSIGNED and CALL_ENDED in contact.meta


async def test_when_the_rest_api_cannot_be_reached_the_next_announcement_connects(
    pushed: tuple[Phone, TwilioApi],
) -> None:
    desk, api = pushed
    await api.aclose()  # Twilio's API is down: the redirect fails, the claim does not
    await desk.post("/twilio/voice", call_form(SID))
    for n, digits in enumerate(["2", "1001", CODE, "2"], 1):
        await desk.post(f"/twilio/voice/step?n={n}", call_form(SID, Digits=digits))
    status, _ = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    verbs = twiml(await (await desk.post("/twilio/voice/hold?w=45", call_form(SID))).text())
    assert [v.tag for v in verbs] == ["Say", "Dial"]


async def test_the_stand_in_checks_credentials_and_knows_only_live_calls() -> None:
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    base = await api.start()
    try:
        control = CallControl(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=base)
        assert not await control.redirect(SID, "http://example.com/hold")  # no such call: 404
        await control.aclose()
        wrong = base64.b64encode(f"{ACCOUNT_SID}:wrong".encode()).decode()
        async with aiohttp.ClientSession() as session:
            url = f"{base}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{SID}.json"
            async with session.post(
                url, data={"Url": "http://x/"}, headers={"Authorization": f"Basic {wrong}"}
            ) as resp:
                assert resp.status == 401 and (await resp.json())["code"] == 20003
    finally:
        await api.aclose()
    assert api.redirects == []


async def test_switchboard_call_serves_the_api_stand_in_and_is_put_through_on_a_claim(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    async with pushed_phone(tmp_path, clock, store, api_base_url=api_url) as (desk, _):
        out, err = io.StringIO(), io.StringIO()
        options = CliOptions(
            url=desk.base,
            press=PRESS,
            json=True,
            signed_base=desk.base,
            twilio_api=("127.0.0.1", port),
            account_sid=ACCOUNT_SID,
        )
        call = asyncio.create_task(
            run_cli(
                options, sign=partial(sign, AUTH_TOKEN), out=out, err=err, auth_token=AUTH_TOKEN
            )
        )
        async with asyncio.timeout(10):
            while True:
                waiting = await desk.store.list_contacts(state=ContactState.WAITING)
                if waiting:
                    break
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the caller is in the hold pause now
        status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["channel"] == "voice", claimed
        async with asyncio.timeout(10):
            assert await call == 0, err.getvalue()
    transcript = json.loads(out.getvalue())
    assert transcript["outcome"] == "connected" and transcript["agent"] == "+48500999888"
    assert any(e["type"] == "api_redirect" for e in transcript["events"])
    assert f"Twilio API stand-in on {api_url}" in err.getvalue()


class _StoreDown:
    """An inbox whose store does not answer: the dial cannot be prepared."""

    async def hold(self, channel: object, conversation: str) -> None:
        raise StoreUnavailable("the store did not answer")


async def claimed_through_the_api(inbox: object, contact: Contact) -> list[dict[str, str]]:
    """Tell a voice channel on ``inbox`` that ``contact`` was claimed; the REST call
    updates the Twilio API stand-in received."""
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    base = await api.start()
    control = CallControl(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=base)
    voice = TwilioVoice(
        cast(Inbox, inbox),
        auth_token=AUTH_TOKEN,
        public_url="https://router.example",
        calls=control,
    )
    try:
        async with aiohttp.ClientSession() as session:
            api.register(Call(session, CallSpec(call_sid=SID), ScriptKeys([]), sign=None, api=api))
            await voice.changed(contact, CLAIMED)
    finally:
        await voice.aclose()
        await api.aclose()
    return list(api.redirects)


async def test_a_claim_whose_dial_cannot_be_prepared_sends_the_caller_to_the_hold_url() -> None:
    contact = Contact(Channel.VOICE, "+48500100200", 0.0, meta={"call_sid": SID})
    (redirect,) = await claimed_through_the_api(_StoreDown(), contact)
    assert redirect["Url"] == "https://router.example/twilio/voice/hold?w=0"
    assert "Twiml" not in redirect


class _StoreDownAgentsKnown(_StoreDown):
    """An inbox whose store does not answer, with its agents' directory in memory."""

    def __init__(self) -> None:
        self.holds = 0

    async def hold(self, channel: object, conversation: str) -> None:
        self.holds += 1
        await super().hold(channel, conversation)

    def agent_target(self, agent: str) -> AgentTarget | None:
        return AgentTarget(agent, phone="+48221234567") if agent == "tomek" else None


@pytest.mark.parametrize("agent", ["tomek", "nieznany"])
async def test_a_claim_dials_from_the_claimed_contact_without_reading_the_store(
    agent: str,
) -> None:
    """The claim says who took the caller: the dial is made from it and the agents'
    directory, with no store read on the way (the store is down here). An agent the
    directory does not know is looked up in the store, as before."""
    inbox = _StoreDownAgentsKnown()
    contact = Contact(
        Channel.VOICE,
        "+48500100200",
        0.0,
        state=ContactState.ASSIGNED,
        agent=agent,
        team="technical",
        language="en",
        meta={"call_sid": SID},
    )
    (redirect,) = await claimed_through_the_api(inbox, contact)
    if agent == "tomek":
        assert inbox.holds == 0
        assert "<Number>+48221234567</Number>" in redirect["Twiml"]
        assert 'action="https://router.example/twilio/voice/hold?dialed=1"' in redirect["Twiml"]
    else:
        assert inbox.holds == 1 and "Twiml" not in redirect
