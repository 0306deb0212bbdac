"""The flow host through the in-process test channel: verification, lockout, secrecy, KPIs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from channels import InboundMessage
from queues import Channel, ContactState, StoreUnavailable
from tests.router.conftest import Desk
from tests.router.testchannel import texts

STORE_BACKENDS = ["memory", "sqlite", "redis"]
CODE = "482913"


async def test_lockout_counts_failures_across_channels(desk: Desk) -> None:
    sms, chat, telegram = (desk.channels[c] for c in (Channel.SMS, Channel.CHAT, Channel.TELEGRAM))
    await sms.say("+48500000001", "faktura")
    for wrong in ("111111", "222222", "333333"):
        answer = await sms.say("+48500000001", f"jan.kowalski {wrong}")
    assert answer.contact.state is ContactState.WAITING  # three failures: on, unverified
    assert not (await desk.ctx.store.get_contact(answer.contact.id)).verified
    await chat.say("chat-session-1", "faktura")
    await chat.say("chat-session-1", "jan.kowalski 444444")
    answer = await chat.say("chat-session-1", "jan.kowalski 555555")  # the 5th failure locks
    assert any("zablokowane" in t for t in texts(answer))
    await telegram.say("tg-42", "faktura")
    answer = await telegram.say("tg-42", f"jan.kowalski {CODE}")  # right code, still locked
    contact = await desk.ctx.store.get_contact(answer.contact.id)
    assert not contact.verified and contact.state is ContactState.WAITING
    assert any("zablokowane" in t for t in texts(answer))
    desk.clock.advance(15 * 60 + 1)
    await sms.say("+48500000077", "faktura")
    answer = await sms.say("+48500000077", f"jan.kowalski {CODE}")
    assert (await desk.ctx.store.get_contact(answer.contact.id)).verified


async def test_auth_code_is_never_logged_nor_stored(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    with capture_logs() as logs:
        await sms.say("+48500000002", "faktura")
        await sms.say("+48500000002", "jan.kowalski 999999")
        await sms.say("+48500000002", "jan.kowalski")
        answer = await sms.say("+48500000002", CODE)
    contact = await desk.ctx.store.get_contact(answer.contact.id)
    assert contact.verified
    assert logs and CODE not in json.dumps(logs, default=str)
    assert "999999" not in json.dumps(logs, default=str)
    stored = contact.to_json() + json.dumps(
        [e.to_dict() for e in await desk.ctx.store.events(contact.id)]
    )
    session = await desk.ctx.store.get_session("sms:+48500000002")
    stored += json.dumps(session)
    assert CODE not in stored and "999999" not in stored
    assert "jan.kowalski ••••••" in [m.text for m in contact.messages]


async def test_duplicate_message_replays_the_same_answer(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    first = await sms.say("+48500000003", "internet", key="SM-1")
    again = await sms.say("+48500000003", "internet", key="SM-1")
    assert again.duplicate and texts(again) == texts(first)
    contact = await desk.ctx.store.get_contact(first.contact.id)
    assert [m.text for m in contact.messages if m.direction == "in"] == ["internet"]


async def test_negative_balance_asking_technical_is_offered_billing(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500000004", "internet nie działa")
    answer = await sms.say("+48500000004", "anna.dluzna 115577")
    assert any("zaległość" in t for t in texts(answer))
    answer = await sms.say("+48500000004", "1")
    assert answer.contact.state is ContactState.WAITING and answer.contact.team == "billing"


async def test_business_tier_and_out_of_hours(desk: Desk) -> None:
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()
    desk.clock.now = saturday
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500000005", "problem z domeną")
    answer = await sms.say("+48500000005", "firma.nowak 739155")
    contact = answer.contact
    assert contact.team == "domains_hosting" and contact.priority == 60 + 300
    assert any("10:00" in t for t in texts(answer))  # told the hours, still queued
    # Not "about 2,700 minutes": the queue prompt says when the team opens.
    assert texts(answer)[-1].endswith("Odpowiemy w tej rozmowie po otwarciu: pon. 10:00.")
    assert contact.state is ContactState.WAITING
    monday_open = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()
    assert answer.wait_s is not None and answer.wait_s >= monday_open - saturday
    assert contact.sla_due is not None and contact.sla_due >= monday_open


async def test_waiting_customer_messages_join_the_contact(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500000006", "faktura")
    queued = await sms.say("+48500000006", "jan.kowalski 482913")
    later = await sms.say("+48500000006", "to pilne!")
    # Joined, and answered with the place and wait (router.contacts.standing).
    assert later.contact.id == queued.contact.id
    assert [p.text for p in later.prompts] == [
        "Twoja sprawa nadal czeka w kolejce: miejsce 1, około 5 min."
    ]
    contact = await desk.ctx.store.get_contact(queued.contact.id)
    assert [m.text for m in contact.messages[-2:]] == ["to pilne!", later.prompts[0].text]


async def test_hang_up_abandons_a_waiting_contact(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500000007", "faktura")
    queued = await sms.say("+48500000007", "jan.kowalski 482913")
    gone = await desk.ctx.service.hang_up(Channel.SMS, "+48500000007")
    assert gone is not None and gone.state is ContactState.ABANDONED
    assert (await desk.ctx.store.queue_stats(["billing"]))[0].waiting == 0
    assert queued.contact.id == gone.id


async def test_kpis_on_a_scripted_scenario(desk: Desk) -> None:
    """Three billing SMS: answered in 10 s, answered in 40 s, abandoned after 30 s."""
    sms = desk.channels[Channel.SMS]
    ids = []
    for n in range(3):
        await sms.say(f"+4850000010{n}", "faktura")
        ids.append((await sms.say(f"+4850000010{n}", "jan.kowalski 482913")).contact.id)
    desk.clock.advance(10)
    status, first = await desk.api("ola", "POST", "/api/claim", {"teams": ["billing"]})
    assert status == 200 and first["id"] == ids[0]
    desk.clock.advance(20)
    await desk.ctx.service.hang_up(Channel.SMS, "+48500000102")
    desk.clock.advance(10)
    status, second = await desk.api("ania", "POST", "/api/claim", {"teams": ["billing"]})
    assert second["id"] == ids[1]
    desk.clock.advance(60)
    await desk.api("ola", "POST", f"/api/contacts/{ids[0]}/resolve", {"disposition": "solved"})
    desk.clock.advance(30)
    await desk.api("ania", "POST", f"/api/contacts/{ids[1]}/resolve", {"disposition": "callback"})
    status, stats = await desk.api("ania", "GET", "/api/stats")
    assert status == 200
    billing = next(t for t in stats["teams"] if t["team"] == "billing")
    assert (billing["offered"], billing["answered"], billing["abandoned"]) == (3, 2, 1)
    assert billing["asa_s"] == pytest.approx((10 + 40) / 2)
    # AHT counts the 30 s wrap-up after each resolve (desk.wrap_up_s in config.yaml).
    assert billing["aht_s"] == pytest.approx((90 + 90) / 2 + 30)
    assert billing["acw_s"] == pytest.approx(30)
    assert billing["abandonment_rate"] == pytest.approx(1 / 3)
    # SMS threshold is 3600 s: both answered in time; the abandon came within it.
    assert billing["service_level"] == pytest.approx(1.0)
    assert stats["overall"]["answered"] == 2


async def test_retry_after_the_store_failed_mid_message_finishes_the_work(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored, then the store went away before the session was saved: the retry advances.

    (The locked path's steps: a quick turn is one store operation, whole or not at all.)"""
    store = desk.ctx.store

    async def locked_path_only(message: InboundMessage) -> None:
        return None

    monkeypatch.setattr(desk.ctx.service.quick, "receive", locked_path_only)
    real_put = store.put_session
    failures = [1]

    async def flaky_put(key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        if key.startswith("sms:") and failures:
            failures.pop()
            raise StoreUnavailable("connection lost")
        await real_put(key, data, ttl_s=ttl_s)

    monkeypatch.setattr(store, "put_session", flaky_put)
    sms = desk.channels[Channel.SMS]
    with pytest.raises(StoreUnavailable):
        await sms.say("+48500000008", "faktura", key="SM-A")
    retried = await sms.say("+48500000008", "faktura", key="SM-A")
    assert any("login" in t for t in texts(retried))  # the flow did start this time
    again = await sms.say("+48500000008", "faktura", key="SM-A")
    assert again.duplicate and texts(again) == texts(retried)
    contact = await store.get_contact(retried.contact.id)
    assert [m.text for m in contact.messages if m.direction == "in"] == ["faktura"]


async def test_mail_reply_with_credentials_verifies_the_waiting_contact(desk: Desk) -> None:
    service = desk.ctx.service
    first = await service.receive(
        InboundMessage(Channel.EMAIL, "jan@example.net", "Faktura za listopad jest za wysoka", "m1")
    )
    assert first.contact.state is ContactState.WAITING and not first.contact.verified
    reply = InboundMessage(
        Channel.EMAIL,
        "jan@example.net",
        "Proszę bardzo.\nLogin: jan.kowalski\nKod: 482913\n",
        "m2",
        conversation="m2",
        contact_id=first.contact.id,
    )
    joined = await service.receive(reply)
    assert joined.contact.id == first.contact.id
    assert [p.template for p in joined.prompts] == [
        desk.ctx.config.book.prompts["queue_status"]["pl"]  # still waiting: its place
    ]
    contact = await desk.ctx.store.get_contact(first.contact.id)
    assert contact.verified and contact.account == "jan.kowalski"
    assert CODE not in contact.to_json()
