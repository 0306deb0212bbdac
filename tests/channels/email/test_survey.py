"""CSAT by email: after a resolve the customer gets the question by mail (through the
relay), and a reply that is just a digit 1-5 is the answer, quoted text and all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from queues import ContactState
from tests.channels.email.support import MailDesk, mail_desk, make_mail
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
async def desk(make_store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[MailDesk]:
    async with mail_desk(await make_store(clock), clock, tmp_path) as d:
        yield d


async def test_a_mail_of_one_digit_answers_the_question_a_resolve_sent(desk: MailDesk) -> None:
    body = "Nie działa internet.\nLogin: jan.kowalski\nKod: 482913\n"
    assert (await desk.send(make_mail(body=body)))[0] == 250
    [contact] = await desk.contacts()
    status, _ = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    await desk.api(
        "tomek", "POST", f"/api/contacts/{contact.id}/resolve", {"disposition": "solved"}
    )
    [_, question] = await desk.replies(2)
    assert "od 1 (źle) do 5 (bardzo dobrze)" in question.text
    reply = make_mail(
        subject="Re: " + str(question["Subject"]),
        body="5\n\n> Dziękujemy za kontakt. Jak oceniasz naszą pomoc?\n",
        in_reply_to=question["Message-ID"],
    )
    assert (await desk.send(reply))[0] == 250
    [done] = await desk.contacts()
    assert done.state is ContactState.RESOLVED and done.meta["survey"]["score"] == 5
    status, stats = await desk.api("ania", "GET", "/api/stats")
    assert stats["overall"]["surveys_answered"] == 1 and stats["overall"]["csat_mean"] == 5.0
