"""A call that ends is never queued again: waiting it is abandoned, held it stays with the
agent until they write the disposition (on every store backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from queues import ContactState, Store
from tests.channels.twilio.voice_support import Phone, call_form, phone
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SID = "CA" + "e" * 32
CODE = "482913"


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock, store: Store) -> AsyncIterator[Phone]:
    async with phone(tmp_path, clock, store) as running:
        yield running


async def queued(desk: Phone) -> None:
    assert (await desk.post("/twilio/voice", call_form(SID, CallStatus="ringing"))).status == 200
    for n, digits in enumerate(["2", "1001#", f"{CODE}#", "2"], start=1):
        response = await desk.post(f"/twilio/voice/step?n={n}", call_form(SID, Digits=digits))
        assert response.status == 200


async def hang_up(desk: Phone) -> None:
    form = call_form(SID, CallStatus="completed")
    assert (await desk.post("/twilio/voice/status", form)).status == 204


async def test_a_held_call_that_ends_stays_with_the_agent_until_resolved(desk: Phone) -> None:
    await queued(desk)
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {})
    assert status == 200
    cid = claimed["id"]
    await hang_up(desk)

    status, body = await desk.api("tomek", "POST", f"/api/contacts/{cid}/release")
    assert status == 422 and "hung up" in body["error"]
    status, body = await desk.api(
        "tomek", "POST", f"/api/contacts/{cid}/transfer", {"team": "billing"}
    )
    assert status == 422 and "resolve it" in body["error"]
    # The agent's lease (60 s) runs out many times over: the reaper does not requeue it.
    desk.clock.advance(3600)
    assert await desk.ctx.desk.reap() == []
    status, _ = await desk.api("tomek", "POST", f"/api/contacts/{cid}/heartbeat")
    assert status == 200
    desk.clock.advance(3600)
    assert await desk.ctx.desk.reap() == []
    contact = await desk.ctx.store.get_contact(cid)
    assert contact.state is ContactState.ASSIGNED and contact.agent == "tomek"
    assert "call_ended_at" in contact.meta
    status, _ = await desk.api("ola", "POST", "/api/claim", {})
    assert status == 204  # nobody else gets the dead call

    status, _ = await desk.api("tomek", "POST", f"/api/contacts/{cid}/resolve", {})
    assert status == 200
    assert (await desk.ctx.store.get_contact(cid)).state is ContactState.RESOLVED


async def test_a_waiting_call_that_ends_is_abandoned(desk: Phone) -> None:
    await queued(desk)
    await hang_up(desk)
    (contact,) = await desk.ctx.store.list_contacts(channel="voice")
    assert contact.state is ContactState.ABANDONED
    status, _ = await desk.api("tomek", "POST", "/api/claim", {})
    assert status == 204


async def test_a_released_live_call_goes_back_to_the_queue(desk: Phone) -> None:
    await queued(desk)
    _, claimed = await desk.api("tomek", "POST", "/api/claim", {})
    status, _ = await desk.api("tomek", "POST", f"/api/contacts/{claimed['id']}/release")
    assert status == 200
    contact = await desk.ctx.store.get_contact(claimed["id"])
    assert contact.state is ContactState.WAITING
