"""A complaint and the email channel, through a real SMTP relay on loopback (aiosmtpd): the
acknowledgement, an agent's answer, and a complaint without an email address."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.channels.email.support import MailDesk, Sent, mail_desk
from tests.conftest import FakeClock
from tests.router.complaints.support import submit

STORE_BACKENDS = ["memory", "sqlite", "redis"]


async def relayed(desk: MailDesk, count: int) -> list[Sent]:
    assert await desk.ctx.courier.join()
    for _ in range(200):
        if len(desk.relay.received) >= count:
            break
        await asyncio.sleep(0.01)
    return desk.relay.received


async def test_the_acknowledgement_and_the_answer_go_by_email(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    async with mail_desk(store, clock, tmp_path) as desk:
        receipt = await submit(desk.client, language="en")
        [ack] = await relayed(desk, 1)
        assert ack.rcpt_tos == ["jan@example.net"]
        assert "Complaint no. 2026/00001" in ack["Subject"]
        assert ack["Auto-Submitted"] == "auto-replied"
        assert "we have received your complaint no. 2026/00001 of 2026-11-18" in ack.text
        assert f"We will answer by {receipt['due_date']} at the latest (by email)" in ack.text

        status, contact = await desk.api("tomek", "POST", "/api/claim", {})
        assert status == 200 and contact["channel"] == "form"
        text = "We have checked the line and credited 3 days of the fee."
        status, _ = await desk.api(
            "tomek", "POST", f"/api/contacts/{contact['id']}/reply", {"text": text}
        )
        assert status == 200
        answer = (await relayed(desk, 2))[1]
        assert answer.rcpt_tos == ["jan@example.net"]
        assert "Complaint no. 2026/00001" in answer["Subject"]
        assert answer["Auto-Submitted"] == ""  # an agent wrote it
        assert text in answer.text
        stored = await desk.contact(contact["id"])
        assert stored.messages[-1].text == text
        assert stored.messages[-1].meta["delivery"] == "sent"


async def test_a_complaint_without_email_is_answered_as_the_holder_asked(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    store = await make_store(clock)
    async with mail_desk(store, clock, tmp_path) as desk:
        receipt = await submit(
            desk.client,
            email=None,
            answer_by="letter",
            postal_address="ul. Kwiatowa 5, 00-001 Warszawa",
        )
        assert receipt["acknowledged_by"] is None
        status, contact = await desk.api("tomek", "POST", "/api/claim", {})
        assert status == 200 and contact["address"] == "+48500100200"
        status, body = await desk.api(
            "tomek", "POST", f"/api/contacts/{contact['id']}/reply", {"text": "Odpowiedź"}
        )
        assert status == 502 and body["retryable"] is False
        assert "answer by letter (ul. Kwiatowa 5, 00-001 Warszawa)" in body["error"]
        assert await relayed(desk, 0) == []
