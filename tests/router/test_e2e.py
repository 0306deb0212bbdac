"""End to end on every backend: in -> flow -> verify -> queued -> claim -> reply -> resolve."""

from __future__ import annotations

import pytest

from queues import Channel, ContactState
from tests.router.conftest import Desk
from tests.router.testchannel import texts

pytestmark = pytest.mark.slow


async def test_text_contact_round_trip(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    first = await sms.say("+48500100200", "Dzień dobry, nie działa mi internet od rana")
    assert first.contact.state is ContactState.IN_FLOW
    assert any("login" in t for t in texts(first))
    answer = await sms.say("+48500100200", "jan.kowalski 482913")
    contact = await desk.ctx.store.get_contact(answer.contact.id)
    assert contact.verified and contact.account == "jan.kowalski"
    assert contact.state is ContactState.WAITING and contact.team == "technical"
    assert contact.priority == 60
    assert answer.position is not None and answer.position.ahead == 0
    assert answer.expect is None
    assert "1" in texts(answer)[-1]  # the position is told

    desk.clock.advance(15)
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    assert claimed["id"] == contact.id and claimed["state"] == "assigned"
    assert claimed["account_info"]["name"] == "Jan Kowalski"
    assert "code_hmac" not in str(claimed)
    transcript = [m["text"] for m in claimed["messages"]]
    assert transcript[0] == "Dzień dobry, nie działa mi internet od rana"
    assert "482913" not in str(claimed)

    status, _ = await desk.api(
        "tomek", "POST", f"/api/contacts/{contact.id}/reply", {"text": "Sprawdzam łącze."}
    )
    assert status == 200
    assert [(r.address, r.text, r.author) for r in sms.sent] == [
        ("+48500100200", "Sprawdzam łącze.", "tomek")
    ]
    desk.clock.advance(100)
    status, body = await desk.api(
        "tomek", "POST", f"/api/contacts/{contact.id}/resolve", {"disposition": "solved"}
    )
    assert status == 200 and body["state"] == "resolved"
    done = await desk.ctx.store.get_contact(contact.id)
    assert done.state is ContactState.RESOLVED and done.disposition == "solved"

    status, stats = await desk.api("ania", "GET", "/api/stats")
    technical = next(t for t in stats["teams"] if t["team"] == "technical")
    assert technical["answered"] == 1 and technical["asa_s"] == pytest.approx(15)
    assert technical["aht_s"] == pytest.approx(100 + 30)  # with the 30 s wrap-up
