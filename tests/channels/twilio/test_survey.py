"""CSAT through Twilio: after a resolve, the question by SMS (sent to the Twilio API
stand-in through the outbox) and its answer as the customer's next SMS; after a call, the
keypad question to a caller still on the line. Every answer is stored on the contact and
counted in /api/stats and /metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from queues import Channel, ContactState, Store
from tests.channels.twilio.sms_support import CUSTOMER, SmsDesk, sms_desk
from tests.channels.twilio.voice_support import Phone, call_form, phone, twiml
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SID = "CA" + "5e" * 16
QUESTION_PL = "Jak oceniasz naszą pomoc w skali od 1 (źle) do 5 (bardzo dobrze)?"
THANKS_PL = "Dziękujemy za ocenę!"


async def resolved_sms(desk: SmsDesk) -> str:
    await desk.sms("Nie działa mi internet")
    await desk.sms("jan.kowalski 482913")
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    desk.clock.advance(120)
    path = f"/api/contacts/{claimed['id']}/resolve"
    status, _ = await desk.api("tomek", "POST", path, {"disposition": "solved"})
    assert status == 200
    return str(claimed["id"])


async def sent_texts(desk: SmsDesk, count: int) -> list[str]:
    """What the Twilio API was given, once it holds ``count`` (the outbox sends in the
    background)."""
    for _ in range(250):
        if len(desk.twilio.sent) >= count:
            break
        await asyncio.sleep(0.02)
    return [sms.body for sms in desk.twilio.sent]


async def technical(desk: SmsDesk | Phone) -> dict[str, object]:
    status, stats = await desk.api("ania", "GET", "/api/stats")
    assert status == 200
    return dict(next(t for t in stats["teams"] if t["team"] == "technical"))


async def test_a_resolved_sms_customer_is_asked_once_and_their_answer_is_counted(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        cid = await resolved_sms(desk)
        (question,) = await sent_texts(desk, 1)
        assert QUESTION_PL in question and desk.twilio.sent[0].to == CUSTOMER
        contact = await store.get_contact(cid)
        assert contact.messages[-1].meta.get("survey") == "question"

        clock.advance(300)
        status, answer = await desk.sms("4", sid="SM" + "a" * 32)
        assert status == 200 and THANKS_PL in answer
        again = await desk.sms("4", sid="SM" + "a" * 32)  # Twilio retries the webhook
        assert again == (200, answer)
        contact = await store.get_contact(cid)
        assert contact.state is ContactState.RESOLVED and contact.meta["survey"]["score"] == 4
        assert [m.text for m in contact.messages[-2:]] == ["4", THANKS_PL]
        assert len(await store.list_contacts(channel="sms")) == 1  # no new contact
        kinds = [e.kind for e in await store.events(cid)]
        assert kinds.count("survey_asked") == kinds.count("survey_answered") == 1

        figures = await technical(desk)
        assert (figures["surveys_asked"], figures["surveys_answered"]) == (1, 1)
        assert (figures["csat"], figures["csat_mean"]) == (1.0, 4.0)
        assert (figures["fcr_resolved"], figures["fcr_returned"], figures["fcr"]) == (1, 0, 1.0)
        body = await (await desk.client.get("/metrics")).text()
        gauges = {
            (s.name, s.labels.get("team")): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }
        assert gauges[("switchboard_csat_ratio", "technical")] == 1.0
        assert gauges[("switchboard_csat_score", "technical")] == 4.0
        assert gauges[("switchboard_fcr_ratio", "technical")] == 1.0
        await desk.twilio.settle()  # its delivery report, before the app closes


async def test_any_other_message_after_the_question_is_a_new_contact_and_a_repeat(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        first = await resolved_sms(desk)
        await sent_texts(desk, 1)
        clock.advance(3600)
        status, answer = await desk.sms("Internet znowu nie działa")
        assert status == 200 and THANKS_PL not in answer
        status, _ = await desk.sms("jan.kowalski 482913")
        contacts = await store.list_contacts(channel="sms")
        assert len(contacts) == 2 and contacts[1].id == first
        assert contacts[0].state is ContactState.WAITING and contacts[0].team == "technical"
        assert "survey" not in (await store.get_contact(first)).meta
        # The same account back on the same team within 7 days: the first was no FCR.
        figures = await technical(desk)
        assert (figures["fcr_resolved"], figures["fcr_returned"], figures["fcr"]) == (1, 1, 0.0)
        # A late "5" now is just a message of the waiting contact, not an answer.
        await desk.sms("5")
        assert (await technical(desk))["surveys_answered"] == 0
        await desk.twilio.settle()


async def test_a_caller_still_on_the_line_after_the_agent_hangs_up_is_asked_on_the_keypad(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with phone(tmp_path, clock, store) as desk:
        await desk.post("/twilio/voice", call_form(SID, CallStatus="ringing"))
        for n, digits in enumerate(["2", "1001", "482913", "2"], start=1):
            response = await desk.post(f"/twilio/voice/step?n={n}", call_form(SID, Digits=digits))
            assert response.status == 200
        status, claimed = await desk.api("tomek", "POST", "/api/claim", {})
        assert status == 200
        cid = claimed["id"]
        response = await desk.post("/twilio/voice/hold?w=5", call_form(SID))
        assert [e.tag for e in twiml(await response.text())] == ["Say", "Dial"]

        # The agent hangs up; the caller stays: the question, in English, on the keypad.
        done = call_form(SID, DialCallStatus="completed")
        gather, hangup = twiml(await (await desk.post("/twilio/voice/hold?dialed=1", done)).text())
        assert gather.tag == "Gather" and gather.get("numDigits") == "1"
        assert gather.get("action") == f"/twilio/voice/survey?c={cid}"
        (question,) = gather
        assert "pressing a key from 1" in (question.text or "")
        assert question.get("language") == "en-US" and hangup.tag == "Hangup"

        response = await desk.post(f"/twilio/voice/survey?c={cid}", call_form(SID, Digits="2"))
        say, end = twiml(await response.text())
        assert say.text == "Thank you for your rating!" and end.tag == "Hangup"
        await desk.api("tomek", "POST", f"/api/contacts/{cid}/resolve", {"disposition": "solved"})
        contact = await store.get_contact(cid)
        assert contact.meta["survey"]["score"] == 2 and contact.channel is Channel.VOICE
        figures = await technical(desk)
        assert (figures["surveys_asked"], figures["surveys_answered"]) == (1, 1)
        assert (figures["csat"], figures["csat_mean"]) == (0.0, 2.0)

        # A key that is no answer, a second answer, a forged or unsigned request.
        response = await desk.post(f"/twilio/voice/survey?c={cid}", call_form(SID, Digits="9"))
        assert [e.tag for e in twiml(await response.text())] == ["Hangup"]
        await desk.post(f"/twilio/voice/survey?c={cid}", call_form(SID, Digits="5"))
        assert (await store.get_contact(cid)).meta["survey"]["score"] == 2
        assert (await technical(desk))["surveys_answered"] == 1
        bad = await desk.post("/twilio/voice/survey?c=../x", call_form(SID, Digits="5"))
        assert bad.status == 400
        unsigned = await desk.client.post(f"/twilio/voice/survey?c={cid}", data=call_form(SID))
        assert unsigned.status == 403


@pytest.mark.parametrize("text", ["5", " 4 ", "3/5", "2!", "1."])
def test_a_reply_of_one_digit_is_a_score(text: str) -> None:
    from router.contacts import parse_score

    assert parse_score(text) == int(text.strip()[0])


@pytest.mark.parametrize("text", [None, "", "6", "0", "45", "five", "5 stars please", "٥"])
def test_anything_else_is_no_score(text: str | None) -> None:
    from router.contacts import parse_score

    assert parse_score(text) is None
