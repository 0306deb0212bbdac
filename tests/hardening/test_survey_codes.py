"""A survey answer that names an account with code-shaped digits is kept masked, like any
other message (issue 15): a mail answering the CSAT question with ``5`` on its first line
and the login and code below it is taken as the answer, and the digits are nowhere in the
store or the logs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from queues import Direction
from tests.channels.email.support import MailDesk, mail_desk, make_mail
from tests.conftest import FakeClock
from tests.hardening.support import digits_present, store_dump

STORE_BACKENDS = ["memory", "sqlite", "redis"]
RIGHT = "482913"  # jan.kowalski's code (number 1001)
WRONG = "551177"


@pytest.fixture
async def desk(make_store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[MailDesk]:
    async with mail_desk(await make_store(clock), clock, tmp_path) as d:
        yield d


async def asked(desk: MailDesk) -> tuple[str, Any]:
    """A mail handled and resolved: its contact id and the survey question mailed."""
    assert (await desk.send(make_mail(body="Nie działa internet od rana.\n")))[0] == 250
    [contact] = await desk.contacts()
    status, _ = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    path = f"/api/contacts/{contact.id}/resolve"
    assert (await desk.api("tomek", "POST", path, {"disposition": "solved"}))[0] == 200
    [*_, question] = await desk.replies(2)
    assert "od 1 (źle) do 5 (bardzo dobrze)" in question.text
    return contact.id, question


@pytest.mark.parametrize(
    ("below", "code"),
    [
        (f"Mój login jan.kowalski, kod {RIGHT}", RIGHT),
        (f"Login: jan.kowalski  Kod: {WRONG}", WRONG),
        (f"numer klienta 1001 i kod {RIGHT}", RIGHT),
    ],
)
async def test_a_code_in_a_survey_answer_is_masked(desk: MailDesk, below: str, code: str) -> None:
    contact_id, question = await asked(desk)
    reply = make_mail(
        subject="Re: " + str(question["Subject"]),
        body=f"5\n\n{below}\n\n> Jak oceniasz naszą pomoc?\n",
        in_reply_to=question["Message-ID"],
    )
    with capture_logs() as logs:
        assert (await desk.send(reply))[0] == 250
    [answered] = await desk.contacts()  # the answer, not a new contact
    assert answered.id == contact_id and answered.meta["survey"]["score"] == 5
    kept = [m.text for m in (await desk.contact(contact_id)).messages]
    (answer,) = [m for m in (await desk.contact(contact_id)).messages if "5\n" in m.text]
    assert answer.direction is Direction.IN and "••••••" in answer.text, kept
    assert digits_present(await store_dump(desk.store), code) == []
    assert digits_present(json.dumps(logs, default=str, ensure_ascii=False), code) == []
