"""Telegram customers who wait learn where they stand: "?", /status or any message gets
their place and wait, and a large change of the wait is sent unasked, once, through the
Bot API (played by ``FakeTelegramApi``)."""

from __future__ import annotations

from pathlib import Path

from queues import Store
from tests.channels.telegram.support import TelegramDesk, telegram_desk
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]
ANNA, BOB = 111111111, 222222222


async def queue(desk: TelegramDesk, chat_id: int) -> None:
    for text in ("/start", "jan.kowalski 482913", "2"):
        assert await desk.say(text, chat_id=chat_id, language="en") == 200


async def test_question_marks_and_status_get_the_place_and_a_halved_wait_comes_unasked(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        await queue(desk, ANNA)
        await queue(desk, BOB)
        assert await desk.delivered()
        told = len(desk.telegram.texts(BOB))

        assert await desk.say("?", chat_id=BOB, language="en") == 200
        assert await desk.say("/status", chat_id=BOB, language="en") == 200
        assert await desk.delivered()
        assert (
            desk.telegram.texts(BOB)[told:]
            == ["Your request is still waiting in the queue: number 2, about 10 minutes."] * 2
        )

        status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["address"] == str(ANNA)
        standing = desk.ctx.service.standing
        assert standing is not None
        await standing.drain()
        assert await desk.delivered()
        assert desk.telegram.texts(BOB)[told + 2 :] == [
            "Your wait has changed: you are now number 1 in the queue, about 5 minutes."
        ]
        assert desk.telegram.texts(ANNA)[-1].startswith("Your request is waiting in the queue")
