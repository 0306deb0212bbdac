"""The voice webhooks as Twilio sees them: TwiML structure, signatures, retries, bad input."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from channels.twilio.voice import TwilioVoice
from ivr.simulator.call import Outcome
from queues import ContactState, Direction, Store
from router.app.factory import create_app
from tests.channels.twilio.voice_support import (
    AUTH_TOKEN,
    Phone,
    call_form,
    config_for,
    phone,
    twiml,
)
from tests.conftest import FakeClock
from tests.router.conftest import ENV
from tests.stores import Switchable

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SID = "CA" + "c" * 32
CODE = "482913"


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, store: Store) -> AsyncIterator[Phone]:
    async with phone(tmp_path, clock, store) as running:
        yield running


async def step(desk: Phone, n: int, digits: str | None, sid: str = SID) -> str:
    form = call_form(sid) if digits is None else call_form(sid, Digits=digits)
    path = f"/twilio/voice/step?n={n}" + ("&timeout=1" if digits is None else "")
    response = await desk.post(path, form)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    return await response.text()


async def queued(desk: Phone, sid: str = SID, team: str = "2") -> str:
    response = await desk.post("/twilio/voice", call_form(sid, CallStatus="ringing"))
    assert response.status == 200
    for n, digits in enumerate(["2", "1001", CODE], start=1):
        await step(desk, n, digits, sid)
    return await step(desk, 4, team, sid)


async def test_incoming_call_gathers_one_digit_under_the_language_menu(desk: Phone) -> None:
    response = await desk.post("/twilio/voice", call_form(SID, CallStatus="ringing"))
    assert response.status == 200 and response.charset == "utf-8"
    gather, redirect = twiml(await response.text())
    assert gather.tag == "Gather"
    assert gather.attrib == {
        "input": "dtmf",
        "action": "/twilio/voice/step?n=1",
        "method": "POST",
        "timeout": "5",
        "finishOnKey": "",
        "numDigits": "1",
    }
    assert [(s.tag, s.get("language")) for s in gather] == [
        ("Say", "pl-PL"),
        ("Say", "en-US"),
        ("Say", "ru-RU"),
        ("Say", "he-IL"),
    ]
    assert gather[3].text == "לשירות בעברית, הקישו 4."
    assert (redirect.tag, redirect.text, redirect.get("method")) == (
        "Redirect",
        "/twilio/voice/step?n=1&timeout=1",
        "POST",
    )


async def test_number_is_gathered_until_hash_in_the_callers_language(desk: Phone) -> None:
    await desk.post("/twilio/voice", call_form(SID))
    gather, redirect = twiml(await step(desk, 1, "3"))
    assert gather.get("finishOnKey") == "#" and gather.get("timeout") == "8"
    assert "numDigits" not in gather.attrib
    assert gather.get("action") == "/twilio/voice/step?n=2"
    (say,) = gather
    assert say.get("language") == "ru-RU" and say.text == "Введите номер клиента и нажмите решётку."
    assert redirect.text == "/twilio/voice/step?n=2&timeout=1"


async def test_queued_caller_is_sent_to_hold_which_pauses_and_polls(desk: Phone) -> None:
    say, redirect = twiml(await queued(desk))
    assert say.text is not None and say.text.startswith("You are number 1 in the queue.")
    assert (redirect.tag, redirect.text) == ("Redirect", "/twilio/voice/hold?w=0")

    pause, again = twiml(await (await desk.post("/twilio/voice/hold?w=0", call_form(SID))).text())
    assert (pause.tag, pause.get("length")) == ("Pause", "5")
    assert (again.tag, again.text) == ("Redirect", "/twilio/voice/hold?w=5")
    # hold_refresh_s (45 in config.yaml): the position and wait are said again, then polls go on.
    response = await desk.post("/twilio/voice/hold?w=45", call_form(SID))
    say, pause, again = twiml(await response.text())
    assert say.get("language") == "en-US"
    assert say.text == (
        "You are number 1 in the queue. The estimated wait is about 5 minutes. "
        "Please stay on the line."
    )
    assert pause.tag == "Pause" and again.text == "/twilio/voice/hold?w=5"


@pytest.mark.parametrize(
    ("agent", "team", "noun", "expected"),
    [
        ("ania", "1", "Client", ["ania-desk", "ania"]),
        ("tomek", "2", "Number", ["+48500999888"]),
        ("ola", "1", "Client", ["ola", "ola"]),
    ],
)
async def test_claimed_call_is_dialled_to_the_agent(
    desk: Phone, agent: str, team: str, noun: str, expected: list[str]
) -> None:
    await queued(desk, team=team)
    status, _ = await desk.api(agent, "POST", "/api/claim", {})
    assert status == 200
    response = await desk.post("/twilio/voice/hold?w=10", call_form(SID))
    say, dial = twiml(await response.text())
    assert (say.text, say.get("language")) == ("Connecting you to an agent.", "en-US")
    assert dial.tag == "Dial" and dial.get("action") == "/twilio/voice/hold?dialed=1"
    (target,) = dial
    assert target.tag == noun
    if noun == "Number":
        assert [target.text] == expected
    else:
        identity, parameter = target
        assert [identity.text, parameter.get("value")] == expected
        assert parameter.get("name") == "agent"


async def test_after_the_dial_the_call_ends_or_holds_on(desk: Phone) -> None:
    await queued(desk)
    await desk.api("tomek", "POST", "/api/claim", {})
    form = call_form(SID, DialCallStatus="no-answer")
    pause, redirect = twiml(await (await desk.post("/twilio/voice/hold?dialed=1", form)).text())
    assert pause.tag == "Pause" and redirect.text == "/twilio/voice/hold?w=5"
    # The caller stayed on the line: the keypad survey (test_survey.py), then the end.
    form = call_form(SID, DialCallStatus="completed")
    gather, hangup = twiml(await (await desk.post("/twilio/voice/hold?dialed=1", form)).text())
    assert (gather.tag, hangup.tag) == ("Gather", "Hangup")
    # The caller hung up first: nothing to ask, the call is over.
    form = call_form(SID, DialCallStatus="completed", CallStatus="completed")
    (hangup,) = twiml(await (await desk.post("/twilio/voice/hold?dialed=1", form)).text())
    assert hangup.tag == "Hangup"


async def test_hold_of_an_unknown_or_finished_call_hangs_up(desk: Phone) -> None:
    response = await desk.post("/twilio/voice/hold", call_form("CA" + "d" * 32))
    assert [e.tag for e in twiml(await response.text())] == ["Hangup"]
    await queued(desk)
    _, claimed = await desk.api("tomek", "POST", "/api/claim", {})
    await desk.api("tomek", "POST", f"/api/contacts/{claimed['id']}/resolve", {})
    response = await desk.post("/twilio/voice/hold", call_form(SID))
    assert [e.tag for e in twiml(await response.text())] == ["Hangup"]


async def test_retried_webhooks_replay_the_same_twiml_and_advance_once(desk: Phone) -> None:
    first = await desk.post("/twilio/voice", call_form(SID))
    again = await desk.post("/twilio/voice", call_form(SID))
    assert await first.text() == await again.text()
    answers = await asyncio.gather(*(step(desk, 1, "2") for _ in range(3)))
    assert len(set(answers)) == 1
    assert "Please enter your customer number" in answers[0]
    assert await step(desk, 2, "1001") == await step(desk, 2, "1001")
    (contact,) = await desk.store.list_contacts(channel="voice")
    contact = await desk.store.get_contact(contact.id)
    assert [m.text for m in contact.messages if m.direction is Direction.IN] == ["", "2", "1001"]
    assert contact.state is ContactState.IN_FLOW


WEBHOOKS = ["/twilio/voice", "/twilio/voice/step?n=1", "/twilio/voice/hold", "/twilio/voice/status"]


@pytest.mark.parametrize("path", WEBHOOKS)
async def test_unsigned_or_badly_signed_webhooks_are_refused(desk: Phone, path: str) -> None:
    form = call_form(SID, Digits="1", CallStatus="completed")
    missing = await desk.client.post(path, data=form)
    wrong_token = await desk.post(path, form, token="0" * 32)
    wrong_url = await desk.post(path, form, signed_url="https://elsewhere.example.com" + path)
    tampered = await desk.client.post(
        path,
        data={**form, "From": "+48999999999"},
        headers={"X-Twilio-Signature": (await _signature(desk, path, form))},
    )
    for response in (missing, wrong_token, wrong_url, tampered):
        assert response.status == 403
        assert "X-Twilio-Signature" in (await response.json())["error"]
    assert await desk.store.list_contacts() == []


async def _signature(desk: Phone, path: str, form: dict[str, str]) -> str:
    from channels.twilio.auth import sign

    return sign(AUTH_TOKEN, desk.url(path), form)


async def test_behind_a_public_url_the_signature_is_for_that_url(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    public = "https://support.example.com"
    async with phone(tmp_path, clock, store, public_url=public) as desk:
        local = await desk.post("/twilio/voice", call_form(SID))
        assert local.status == 403
        signed = await desk.post(
            "/twilio/voice", call_form(SID), signed_url=public + "/twilio/voice"
        )
        assert signed.status == 200
        result = await desk.call("2 1001# 482913# 2", signed_base=public)
        assert result.outcome is Outcome.ABANDONED, result.error
        unsigned_for_public = await desk.call("2")
        assert unsigned_for_public.outcome is Outcome.ERROR
        assert unsigned_for_public.error is not None
        assert "HTTP 403" in unsigned_for_public.error and "signature" in unsigned_for_public.error


async def test_malformed_webhooks_are_refused_with_a_reason(desk: Phone) -> None:
    no_sid = {k: v for k, v in call_form(SID).items() if k != "CallSid"}
    response = await desk.post("/twilio/voice", no_sid)
    assert response.status == 400 and "CallSid" in (await response.json())["error"]
    response = await desk.post("/twilio/voice/status", {"CallStatus": "completed"})
    assert response.status == 400
    for bad in ("0", "x", "", "99999999"):
        response = await desk.post(f"/twilio/voice/step?n={bad}", call_form(SID, Digits="1"))
        assert response.status == 400 and "step number" in (await response.json())["error"]
    big = urlencode(call_form(SID, Digits="1" * (1024 * 1024 + 1))).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await desk.client.post("/twilio/voice", data=io.BytesIO(big), headers=headers)
    assert response.status == 413
    assert await desk.store.list_contacts() == []


async def test_store_down_gives_503_and_the_retry_counts_once(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    switchable = Switchable(store)
    async with phone(tmp_path, clock, switchable) as desk:
        await desk.post("/twilio/voice", call_form(SID))
        switchable.down = True
        for path in ("/twilio/voice/step?n=1", "/twilio/voice/status"):
            response = await desk.post(path, call_form(SID, Digits="2", CallStatus="completed"))
            assert response.status == 503 and response.headers["Retry-After"] == "5"
        # A look at the hold keeps the caller holding: it looks again a poll later.
        response = await desk.post("/twilio/voice/hold?w=45", call_form(SID))
        assert response.status == 200
        look = twiml(await response.text())
        assert [v.tag for v in look] == ["Pause", "Redirect"]
        assert look[1].text == "/twilio/voice/hold?w=50"
        switchable.down = False
        assert "customer number" in await step(desk, 1, "2")
        (contact,) = await store.list_contacts(channel="voice")
        contact = await store.get_contact(contact.id)
        assert [m.text for m in contact.messages if m.direction is Direction.IN] == ["", "2"]


async def test_status_callback_abandons_a_waiting_call_and_closes_one_in_the_flow(
    desk: Phone,
) -> None:
    await queued(desk)
    ringing = await desk.post("/twilio/voice/status", call_form(SID, CallStatus="in-progress"))
    assert ringing.status == 204
    (contact,) = await desk.store.list_contacts(channel="voice")
    assert contact.state is ContactState.WAITING
    done = await desk.post("/twilio/voice/status", call_form(SID, CallStatus="completed"))
    assert done.status == 204
    assert (await desk.store.get_contact(contact.id)).state is ContactState.ABANDONED

    other = "CA" + "e" * 32
    await desk.post("/twilio/voice", call_form(other))
    busy = await desk.post("/twilio/voice/status", call_form(other, CallStatus="no-answer"))
    assert busy.status == 204
    in_flow = next(c for c in await desk.store.list_contacts(channel="voice") if c.id != contact.id)
    assert in_flow.state is ContactState.ABANDONED and in_flow.queued_at is None
    again = await desk.post("/twilio/voice/status", call_form(other, CallStatus="completed"))
    assert again.status == 204  # a repeated callback is harmless


def test_hold_poll_cannot_exceed_the_refresh() -> None:
    with pytest.raises(ValueError, match="hold_poll_s"):
        TwilioVoice(None, auth_token="t", hold_refresh_s=30, hold_poll_s=40)  # type: ignore[arg-type]


async def test_voice_is_off_without_a_token_and_on_with_the_demo_one(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    config = config_for(tmp_path, ENV)
    with capture_logs() as logs:
        off = create_app(config, store, clock=clock, env=ENV, reaper=False)
    (said,) = [e for e in logs if e["event"] == "channel_off" and e["channel"] == "voice"]
    assert said["reason"] == "TWILIO_AUTH_TOKEN not set"
    assert "/twilio/voice" not in _paths(off)
    assert not (tmp_path / "var" / "demo-twilio-auth-token").exists()

    demo = create_app(config, store, clock=clock, env=ENV, reaper=False, demo=True)
    assert {"/twilio/voice", "/twilio/voice/step", "/twilio/voice/hold"} <= _paths(demo)
    token = (tmp_path / "var" / "demo-twilio-auth-token").read_text().strip()
    async with TestClient(TestServer(demo, host="127.0.0.1")) as client:
        running = Phone(client, clock, store)
        result = await running.call("2 1001# 482913# 2", token=token)
        assert result.outcome is Outcome.ABANDONED, result.error
        refused = await running.call("2", token=AUTH_TOKEN)
        assert refused.outcome is Outcome.ERROR


def _paths(app: web.Application) -> set[str]:
    return {route.resource.canonical for route in app.router.routes() if route.resource}
