"""The one queue-status rule: position, wait estimate and queue prompt, open or closed."""

from __future__ import annotations

from queues import Channel, ContactState
from tests.router.conftest import Desk

STORE_BACKENDS = ["memory", "sqlite", "redis"]
SATURDAY_NOON_S = 1_795_262_400.0  # 2026-11-21 12:00 Europe/Warsaw is 11:00 UTC; closed


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
