"""CSAT in the web chat: after the agent resolves, the question comes as a message in the
customer's chat, and a reply of 1-5 is the answer (thanked, stored, counted)."""

from __future__ import annotations

import json
from pathlib import Path

from queues import ContactState, Store
from tests.channels.webchat.support import chat_app, queue_customer
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]


async def test_a_chat_customer_answers_the_question_in_the_chat(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    async with chat_app(store, clock, tmp_path) as app, app.customer() as customer:
        await customer.hello(language="en")
        await queue_customer(customer)
        status, claimed = await app.api("ania", "POST", "/api/claim", {})
        assert status == 200
        clock.advance(60)
        path = f"/api/contacts/{claimed['id']}/resolve"
        assert (await app.api("ania", "POST", path, {"disposition": "solved"}))[0] == 200

        asked = await customer.expect("agent")
        assert "from 1 (poor) to 5 (excellent)" in asked["text"]
        ack, after = await customer.turn("5")
        assert ack["type"] == "ack"
        assert "Thank you for your rating!" in json.dumps(after, ensure_ascii=False)
        contact = await store.get_contact(claimed["id"])
        assert contact.state is ContactState.RESOLVED and contact.meta["survey"]["score"] == 5
        status, stats = await app.api("ania", "GET", "/api/stats")
        assert stats["overall"]["surveys_answered"] == 1 and stats["overall"]["csat"] == 1.0
        assert len(await store.list_contacts(channel="chat")) == 1
