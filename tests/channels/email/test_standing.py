"""Email customers who wait learn where they stand: a reply to a waiting contact gets its
place and wait as an automatic reply (through the relay, threaded), and a large change of the
wait is mailed unasked, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.email.support import MailDesk, mail_desk, make_mail, message_id_of
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
ANNA, BOB = "anna@example.net", "bob@example.net"


@pytest.fixture
async def desk(make_store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[MailDesk]:
    async with mail_desk(await make_store(clock), clock, tmp_path) as d:
        yield d


async def test_a_reply_while_waiting_gets_the_place_and_a_halved_wait_is_mailed(
    desk: MailDesk,
) -> None:
    body = "Nie działa internet.\nLogin: jan.kowalski\nKod: 482913\n"
    for sender in (ANNA, BOB):
        assert (await desk.send(make_mail(sender=sender, body=body), sender=sender))[0] == 250
    replies = await desk.replies(2)
    ours = next(r for r in replies if r.rcpt_tos == [BOB])

    follow_up = make_mail(
        sender=BOB, subject="Re: " + ours["Subject"], body="I co?\n", in_reply_to=ours["Message-ID"]
    )
    assert (await desk.send(follow_up, sender=BOB))[0] == 250
    place = (await desk.replies(3))[2]
    assert place.rcpt_tos == [BOB] and place["Auto-Submitted"] == "auto-replied"
    assert "nadal czeka w kolejce: miejsce 2" in place.text
    assert place["In-Reply-To"] == message_id_of(follow_up)

    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200 and claimed["address"] == ANNA
    standing = desk.ctx.service.standing
    assert standing is not None
    await standing.drain()
    update = (await desk.replies(4))[3]
    assert update.rcpt_tos == [BOB] and update["Auto-Submitted"] == "auto-replied"
    assert "Zmiana czasu oczekiwania: jesteś teraz na miejscu 1 w kolejce" in update.text
    assert len(await desk.replies(5)) == 4  # once
