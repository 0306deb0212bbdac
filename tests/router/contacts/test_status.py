"""The one queue-status rule: position, wait estimate and queue prompt, open or closed."""

from __future__ import annotations

from typing import Any

import pytest

from queues import Channel, ContactState, StoreUnavailable
from tests.router.conftest import Desk
from tests.router.testchannel import texts

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SATURDAY_NOON_S = 1_795_262_400.0  # 2026-11-21 12:00 Europe/Warsaw is 11:00 UTC; closed
QUEUED_FIRST = "Twoja sprawa czeka w kolejce (miejsce 1)."


async def _queue(desk: Desk, address: str) -> str:
    sms = desk.channels[Channel.SMS]
    await sms.say(address, "faktura")
    answer = await sms.say(address, "jan.kowalski 482913")
    assert answer.contact.state is ContactState.WAITING
    return answer.contact.id


async def test_status_gives_the_place_the_queue_holds_and_the_prompt_says_it(desk: Desk) -> None:
    first = await _queue(desk, "+48500000101")
    second = await _queue(desk, "+48500000102")
    announcer = desk.ctx.service.announcer
    status = await announcer.status(second, "billing", "queued_text", "en")
    position = await desk.ctx.store.position(second)
    assert status.position == position and status.ahead == 1
    assert (await announcer.status(first, "billing", "queued_text", "en")).ahead == 0
    assert status.wait_s == await announcer.estimate_s("billing", 1)
    assert status.told.language == "en" and "number 2" in status.told.text


async def test_closed_team_is_told_when_it_opens_not_a_wait_in_minutes(desk: Desk) -> None:
    contact_id = await _queue(desk, "+48500000103")
    desk.clock.now = SATURDAY_NOON_S
    status = await desk.ctx.service.announcer.status(contact_id, "billing", "queued_text", "en")
    assert "when we open" in status.told.text and "Mon" in status.told.text
    # The wait is at least the time to the opening: Monday 10:00 Warsaw is 45 h away.
    assert status.wait_s >= 45 * 3600
    # A prompt without a _closed variant keeps its own text.
    assert (
        "when we open"
        not in desk.ctx.service.announcer.render(
            "queued_email", "en", "billing", 0, status.wait_s
        ).text
    )


async def test_queueing_hold_and_a_stale_retry_tell_the_same_closed_status(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three places a waiting contact is told its place use the one rule, so out of
    hours all three give the ``_closed`` variant: when queued, on a hold refresh, and when a
    retry finds the flow already done (the session was lost after the contact was queued)."""
    desk.clock.now = SATURDAY_NOON_S
    store, sms = desk.ctx.store, desk.channels[Channel.SMS]
    real_put = store.put_session
    lost = [1]

    async def lose_one_put(key: str, data: dict[str, Any], *, ttl_s: float) -> None:
        if key.startswith("sms:") and data.get("flow") is None and lost:
            lost.pop()
            raise StoreUnavailable("connection lost")
        await real_put(key, data, ttl_s=ttl_s)

    await sms.say("+48500000104", "faktura")
    monkeypatch.setattr(store, "put_session", lose_one_put)
    with pytest.raises(StoreUnavailable):
        await sms.say("+48500000104", "jan.kowalski 482913", key="SM-Q")
    retried = await sms.say("+48500000104", "jan.kowalski 482913", key="SM-Q")
    hold = await desk.ctx.service.hold(Channel.SMS, "+48500000104")
    closed = "Odpowiemy w tej rozmowie po otwarciu: pon. 10:00."
    assert not retried.duplicate and texts(retried) == [f"{QUEUED_FIRST} {closed}"]
    assert hold is not None and hold.prompt is not None
    assert hold.prompt.text == texts(retried)[0]
    assert hold.position == retried.position and hold.wait_s == retried.wait_s
    assert (await store.queue_stats(["billing"]))[0].waiting == 1  # queued once
