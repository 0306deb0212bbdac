"""SMS out: agent replies through twilio's REST Client to a fake Twilio API, retries,
refusals surfaced to the agent, delivery reports recorded on the contact."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from channels.base import Reply
from channels.errors import SendFailed
from channels.twilio.sms_send import SmsOutbox
from queues import Channel, Store
from router.app.factory import build_context
from router.app.wiring import sms_adapter
from tests.channels.twilio.sms_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    OUR_NUMBER,
    SMS_ENV,
    SmsDesk,
    config_for,
    sms_desk,
)
from tests.conftest import FakeClock
from tests.redis_server import free_port
from tests.router.conftest import ENV

STORE_BACKENDS = ["memory", "sqlite", "redis"]


async def queued_and_claimed(desk: SmsDesk) -> str:
    """A verified SMS contact in the technical queue, claimed by tomek; its id."""
    await desk.sms("Nie działa mi internet")
    status, twiml = await desk.sms("jan.kowalski 482913")
    assert status == 200 and "miejsce 1" in twiml
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    return str(claimed["id"])


async def reply(desk: SmsDesk, contact_id: str, text: str) -> tuple[int, Any]:
    return await desk.api("tomek", "POST", f"/api/contacts/{contact_id}/reply", {"text": text})


async def delivery_events(store: Store, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(5):
        while True:
            events = await store.list_events(kinds=["delivery_status"])
            if len(events) >= count:
                return [{"contact_id": e.contact_id, **e.data} for e in events]
            await asyncio.sleep(0.05)


async def test_agent_reply_reaches_twilio_and_delivery_reports_are_recorded(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        contact_id = await queued_and_claimed(desk)
        status, sent = await reply(desk, contact_id, "Dzień dobry, sprawdzam Pana łącze.")
        assert status == 200

        (sms,) = desk.twilio.sent
        assert (sms.to, sms.from_, sms.body) == (
            CUSTOMER,
            OUR_NUMBER,
            "Dzień dobry, sprawdzam Pana łącze.",
        )
        assert sms.status_callback == desk.url("/twilio/sms/status")
        assert sent["meta"] == {"delivery": "sent", "provider_id": sms.sid}

        # Twilio does not promise the order of reports; each is recorded once.
        events = await delivery_events(store, 2)
        assert sorted((e["contact_id"], e["provider_id"], e["status"]) for e in events) == [
            (contact_id, sms.sid, "delivered"),
            (contact_id, sms.sid, "sent"),
        ]
        assert {e["message_id"] for e in events} == {sent["id"]}
        await desk.twilio.settle()
        assert desk.twilio.reports == [("sent", 204), ("delivered", 204)]


async def test_failed_delivery_report_keeps_the_error_code(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        desk.twilio.callbacks = ("sent", "undelivered")
        contact_id = await queued_and_claimed(desk)
        assert (await reply(desk, contact_id, "Proszę o restart routera."))[0] == 200
        events = await delivery_events(store, 2)
        assert {(e["status"], e["detail"]) for e in events} == {
            ("sent", None),
            ("undelivered", "30003"),
        }
        # A report about a message we never sent is taken (204) and changes nothing.
        unknown = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
        assert (await desk.post("/twilio/sms/status", unknown)).status == 204


async def test_provider_failures_are_retried_until_sent(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        contact_id = await queued_and_claimed(desk)
        desk.twilio.fail_next(500, 20500, "Internal Server Error")
        desk.twilio.fail_next(429, 20429, "Too Many Requests")
        status, _ = await reply(desk, contact_id, "Wysłałem technika.")
        assert status == 200
        assert desk.twilio.attempts == 3
        assert [s.body for s in desk.twilio.sent] == ["Wysłałem technika."]
        contact = await store.get_contact(contact_id)
        out = [m for m in contact.messages if m.author == "tomek"]
        assert [(m.text, m.meta["delivery"]) for m in out] == [("Wysłałem technika.", "sent")]


async def test_refusals_and_exhausted_retries_are_surfaced_to_the_agent(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with sms_desk(tmp_path, clock, store) as desk:
        contact_id = await queued_and_claimed(desk)
        desk.twilio.fail_next(400, 21211, "Invalid 'To' Phone Number: +48500100200")
        status, body = await reply(desk, contact_id, "Pierwsza odpowiedź")
        assert status == 502 and body["retryable"] is False
        assert "21211" in body["error"] and "Invalid 'To' Phone Number" in body["error"]
        assert desk.twilio.attempts == 1

        for _ in range(4):
            desk.twilio.fail_next(503, None, "Service Unavailable")
        status, body = await reply(desk, contact_id, "Druga odpowiedź")
        assert status == 502 and body["retryable"] is True
        assert desk.twilio.attempts == 5
        assert desk.twilio.sent == []

        contact = await store.get_contact(contact_id)
        out = [(m.text, m.meta["delivery"]) for m in contact.messages if m.author == "tomek"]
        assert out == [("Pierwsza odpowiedź", "failed"), ("Druga odpowiedź", "failed")]

        status, body = await reply(desk, contact_id, "x" * 1601)
        assert status == 502 and body["retryable"] is False and "1601" in body["error"]


def a_reply(**meta: Any) -> Reply:
    return Reply("c1", Channel.SMS, CUSTOMER, "Cześć", "pl", meta={"twilio_to": OUR_NUMBER, **meta})


async def test_network_failure_is_retryable_and_a_bad_number_is_not() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    outbox = SmsOutbox(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=closed)
    try:
        with pytest.raises(SendFailed, match="could not be reached") as caught:
            await outbox.send(a_reply())
        assert caught.value.retryable and caught.value.channel == "sms"
    finally:
        await outbox.aclose()

    outbox = SmsOutbox(account_sid=None, auth_token=AUTH_TOKEN)
    with pytest.raises(SendFailed, match="TWILIO_ACCOUNT_SID") as caught:
        await outbox.send(a_reply())
    assert not caught.value.retryable
    await outbox.aclose()


def test_wiring_needs_both_credentials_unless_demo(tmp_path: Path, clock: FakeClock) -> None:
    async def build(env: dict[str, str], demo: bool) -> object:
        from queues import open_store

        store = await open_store("memory://")
        try:
            ctx = build_context(config_for(tmp_path, env), store, clock=clock, outboxes={}, env=env)
            return sms_adapter(ctx, env, demo=demo)
        finally:
            await store.aclose()

    with capture_logs() as logs:
        assert asyncio.run(build(ENV, False)) is None
        assert asyncio.run(build({**ENV, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}, False)) is None
    off = [e for e in logs if e["event"] == "channel_off"]
    assert [e["reason"] for e in off] == [
        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN not set",
        "TWILIO_ACCOUNT_SID not set",
    ]
    assert AUTH_TOKEN not in str(logs)
    assert asyncio.run(build(SMS_ENV, False)) is not None
    # The demo generates a local auth token once and takes messages without an account.
    assert asyncio.run(build(ENV, True)) is not None
    assert (tmp_path / "var" / "demo-twilio-auth-token").stat().st_mode & 0o777 == 0o600
