"""A claim is told to the contact's channel in the background: the agent's claim does not
wait for that read, and a store that fails it does not turn a claim made into an error."""

from __future__ import annotations

import asyncio
from pathlib import Path

from queues import Contact, Store
from tests.channels.webchat.support import chat_app, queue_customer
from tests.conftest import FakeClock


async def test_a_claim_stands_when_the_channel_cannot_be_told(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    async with chat_app(store, clock, tmp_path) as app:
        async with app.customer() as customer:
            await customer.hello()
            await queue_customer(customer)
        told: list[tuple[Contact, str]] = []

        async def listener(contact: Contact, change: str) -> None:
            told.append((contact, change))

        desk = app.ctx.desk
        channel = next(iter(desk.listeners))
        desk.listeners[channel] = listener
        agent = app.ctx.agents.get("tomek")
        assert agent is not None

        app.store.failing = {"get_contact"}  # the store fails the channel's read
        claim = await desk.claim(agent, ["technical"])
        assert claim is not None and claim.agent == "tomek"
        await asyncio.sleep(0.05)  # the background telling ran, and failed quietly
        assert told == [] and app.store.failed == 1

        app.store.failing = set()
        await desk.release(agent, claim.contact_id)
        claim = await desk.claim(agent, ["technical"])
        assert claim is not None
        for _ in range(100):  # told in the background, soon
            if len(told) == 2:
                break
            await asyncio.sleep(0.01)
        assert [change for _, change in told] == ["released", "claimed"]
        assert told[-1][0].id == claim.contact_id and told[-1][0].agent == "tomek"
