"""Web chat customers who wait: "status" gets the place and wait, a large change of the
wait comes unasked (once), and "an agent joined" always follows the answer to the message
that queued the contact, before the agent's first words, even when the claim came while
that message was being taken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.webchat.support import (
    CREDENTIALS,
    CUSTOMER_FIRST,
    ChatApp,
    chat_app,
    queue_customer,
)
from tests.conftest import FakeClock, StoreMaker

STORE_BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
async def chat(make_store: StoreMaker, clock: FakeClock, tmp_path: Path) -> AsyncIterator[ChatApp]:
    async with chat_app(await make_store(clock), clock, tmp_path) as app:
        yield app


async def test_status_gets_the_place_and_other_messages_only_join(chat: ChatApp) -> None:
    async with chat.customer() as first, chat.customer() as second:
        await first.hello()
        await second.hello()
        await queue_customer(first)
        await queue_customer(second, "Router nie działa")

        ack, after = await second.turn("anyone there?")
        assert ack["type"] == "ack" and after == []  # the page shows the place already
        ack, after = await second.turn("Status?")
        # The place as a message; the badge ("queued") already says the same.
        assert [f["type"] for f in after] == ["prompt"]
        assert after[0]["text"] == "Twoja sprawa nadal czeka w kolejce: miejsce 2, około 10 min."


async def test_a_halved_wait_comes_unasked_once(chat: ChatApp) -> None:
    async with chat.customer() as first, chat.customer() as second:
        await first.hello()
        await second.hello()
        await queue_customer(first)
        await queue_customer(second, "Router nie działa")
        status, _ = await chat.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200
        standing = chat.ctx.service.standing
        assert standing is not None
        await standing.drain()
        update = await second.expect("agent")
        assert update["author"] is None  # the router's words: the page shows them as its own
        assert update["text"] == (
            "Zmiana czasu oczekiwania: jesteś teraz na miejscu 1 w kolejce, około 5 min."
        )
        assert [f for f in await second.quiet() if f["type"] == "agent"] == []


async def test_joined_follows_the_answer_to_the_message_during_which_the_claim_came(
    chat: ChatApp,
) -> None:
    """An agent waiting for work takes the contact the moment it is queued, while the
    customer's message is still being answered: "joined" comes after that answer."""
    async with chat.customer() as customer:
        await customer.hello()
        await customer.turn(CUSTOMER_FIRST)
        poll = asyncio.create_task(
            chat.api("tomek", "POST", "/api/claim", {"teams": ["technical"], "wait_s": 20})
        )
        await asyncio.sleep(0.2)  # the long poll is waiting
        frame_id = await customer.say(CREDENTIALS)
        status, claimed = await poll
        assert status == 200
        path = f"/api/contacts/{claimed['id']}/reply"
        assert (await chat.api("tomek", "POST", path, {"text": "Dzień dobry!"}))[0] == 200
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] != "agent":
            frames.append(await customer.recv())
        kinds = [f["type"] for f in frames if f["type"] != "agent_typing"]
        assert kinds == ["ack", "prompt", "prompt", "queued", "joined", "agent"], frames
        assert frames[0]["id"] == frame_id and frames[4]["author"] == "tomek"
