"""SMS in: Twilio's webhook through the real app -> flow -> TwiML, idempotent, never lost."""

from __future__ import annotations

import asyncio
import contextlib
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

from channels.twilio.auth import sign
from queues import ContactState, Direction, Store, open_store
from tests.channels.twilio.sms_support import (
    AUTH_TOKEN,
    CUSTOMER,
    OUR_NUMBER,
    message_sid,
    sms_desk,
    twilio_form,
)
from tests.conftest import FakeClock
from tests.stores import Switchable

STORE_BACKENDS = ["memory", "sqlite", "redis"]


def said(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [child.text or "" for child in root]


async def test_flow_is_answered_inline_as_twiml_messages(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        response = await desk.post("/twilio/sms", twilio_form("Dzień dobry, nie działa internet"))
        assert response.status == 200
        assert response.content_type == "application/xml"
        first = said(await response.text())
        assert first == [
            "Dzień dobry! Dziękujemy za wiadomość, zapisaliśmy ją.\n"
            "Aby potwierdzić tożsamość, podaj login i kod autoryzacyjny z panelu klienta, "
            "np.: jan.kowalski 123456"
        ]

        status, twiml = await desk.sms("jan.kowalski 482913")
        assert status == 200
        (second,) = said(twiml)
        assert second.startswith("Dziękujemy, Twoja tożsamość została potwierdzona.\n")
        assert "w kolejce (miejsce 1, około" in second

        (contact,) = await store.list_contacts(channel="sms")
        contact = await store.get_contact(contact.id)
        assert contact.address == CUSTOMER and contact.state is ContactState.WAITING
        assert contact.team == "technical" and contact.verified
        assert contact.meta["twilio_to"] == OUR_NUMBER
        assert contact.meta["status_callback"] == desk.url("/twilio/sms/status")
        inbound = [m.text for m in contact.messages if m.direction is Direction.IN]
        assert inbound == ["Dzień dobry, nie działa internet", "jan.kowalski ••••••"]

        # After the flow, a message joins the waiting contact and is answered with its place.
        status, twiml = await desk.sms("Czy ktoś tam jest?")
        assert status == 200
        assert said(twiml) == ["Twoja sprawa nadal czeka w kolejce: miejsce 1, około 5 min."]
        contact = await store.get_contact(contact.id)
        assert [m.text for m in contact.messages[-2:]] == ["Czy ktoś tam jest?", *said(twiml)]


async def test_concurrent_duplicates_make_one_message_and_replay_the_same_twiml(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        form = twilio_form("Problem z fakturą za maj")
        responses = await asyncio.gather(*(desk.post("/twilio/sms", form) for _ in range(6)))
        bodies = {await r.text() for r in responses}
        assert [r.status for r in responses] == [200] * 6
        assert len(bodies) == 1
        assert "podaj login i kod" in said(bodies.pop())[0]
        (contact,) = await store.list_contacts(channel="sms")
        contact = await store.get_contact(contact.id)
        assert [m.text for m in contact.messages if m.direction is Direction.IN] == [
            "Problem z fakturą za maj"
        ]
        # A later redelivery (Twilio's retry) replays the same answer too.
        again = await desk.post("/twilio/sms", form)
        assert await again.text() == await responses[0].text()


async def test_unsigned_or_wrongly_signed_webhooks_are_refused(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        form = twilio_form("hello")
        missing = await desk.client.post("/twilio/sms", data=form)
        assert missing.status == 403
        assert "X-Twilio-Signature" in (await missing.json())["error"]
        wrong = await desk.post("/twilio/sms", form, token="0" * 32)
        assert wrong.status == 403
        headers = {"X-Twilio-Signature": "x"}
        tampered = await desk.client.post(
            "/twilio/sms", data={**form, "Body": "x"}, headers=headers
        )
        assert tampered.status == 403
        status = await desk.post("/twilio/sms/status", {"MessageSid": "SM1"}, token="0" * 32)
        assert status.status == 403
        assert await store.list_contacts() == []


async def test_malformed_webhooks_get_400_with_a_reason(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        no_sid = {k: v for k, v in twilio_form("hi").items() if "Sid" not in k or k == "AccountSid"}
        response = await desk.post("/twilio/sms", no_sid)
        assert response.status == 400
        assert "MessageSid" in (await response.json())["error"]
        no_from = {k: v for k, v in twilio_form("hi").items() if k != "From"}
        response = await desk.post("/twilio/sms", no_from)
        assert response.status == 400
        assert "From" in (await response.json())["error"]
        response = await desk.post("/twilio/sms/status", {"MessageSid": "SM1"})
        assert response.status == 400
        assert await store.list_contacts() == []


async def test_oversize_webhook_gets_413(tmp_path: Path, clock: FakeClock, store: Store) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        form = twilio_form("x" * (1024 * 1024 + 1))
        headers = {
            "X-Twilio-Signature": sign(AUTH_TOKEN, desk.url("/twilio/sms"), form),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        body = io.BytesIO(urlencode(form).encode())  # aiohttp warns on big raw bodies
        response = await desk.client.post("/twilio/sms", data=body, headers=headers)
        assert response.status == 413
        assert await store.list_contacts() == []


async def test_store_down_gives_503_and_the_retry_is_stored_exactly_once(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    switchable = Switchable(store)
    async with sms_desk(tmp_path, clock, switchable) as desk:
        form = twilio_form("Nie mogę zapłacić rachunku")
        switchable.down = True
        for _ in range(2):
            response = await desk.post("/twilio/sms", form)
            assert response.status == 503
            assert response.headers["Retry-After"] == "5"
        switchable.down = False
        assert await store.list_contacts() == []

        response = await desk.post("/twilio/sms", form)
        assert response.status == 200
        assert "podaj login i kod" in said(await response.text())[0]

        # Down in the middle (stored, then the session could not be saved): 503, and
        # Twilio's retry finds the message already there, once.
        switchable.failing = {"put_session"}
        second = twilio_form("jan.kowalski 482913")
        assert (await desk.post("/twilio/sms", second)).status == 503
        switchable.failing = set()
        assert (await desk.post("/twilio/sms", second)).status == 200
        (contact,) = await store.list_contacts(channel="sms")
        contact = await store.get_contact(contact.id)
        inbound = [m.text for m in contact.messages if m.direction is Direction.IN]
        assert inbound == ["Nie mogę zapłacić rachunku", "jan.kowalski ••••••"]


async def test_mms_without_text_is_taken_with_its_media(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        media = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        form = twilio_form("", NumMedia="1", MediaUrl0=media, MediaContentType0="image/jpeg")
        response = await desk.post("/twilio/sms", form)
        assert response.status == 200
        (contact,) = await store.list_contacts(channel="sms")
        contact = await store.get_contact(contact.id)
        assert contact.messages[0].text == "[image/jpeg]"
        assert contact.meta["media"] == [{"url": media, "content_type": "image/jpeg"}]


async def test_stop_opt_out_ends_the_conversation_without_an_answer(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        assert (await desk.sms("Internet nie działa"))[0] == 200
        status, twiml = await desk.sms("STOP", OptOutType="STOP")
        assert status == 200 and said(twiml) == []
        (contact,) = await store.list_contacts(channel="sms")
        assert contact.state is ContactState.ABANDONED
        # The next message starts a new conversation.
        await desk.sms("START")
        assert len(await store.list_contacts(channel="sms")) == 2


async def test_round_trip_on_sqlite(tmp_path: Path, clock: FakeClock) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'sms.db'}", clock=clock)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(store.aclose)
        desk = await stack.enter_async_context(sms_desk(tmp_path, clock, store))
        sid = message_sid()
        assert (await desk.sms("Awaria internetu", sid=sid))[0] == 200
        assert (await desk.sms("Awaria internetu", sid=sid))[0] == 200
        await desk.sms("jan.kowalski 482913")
        status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["channel"] == "sms"
        status, _ = await desk.api(
            "tomek", "POST", f"/api/contacts/{claimed['id']}/reply", {"text": "Już sprawdzam."}
        )
        assert status == 200
        assert [(s.to, s.from_, s.body) for s in desk.twilio.sent] == [
            (CUSTOMER, OUR_NUMBER, "Już sprawdzam.")
        ]
        assert AUTH_TOKEN not in str(claimed)
