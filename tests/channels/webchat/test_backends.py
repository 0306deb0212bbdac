"""One web chat round trip on every store backend: queue, live reply, resume from history."""

from __future__ import annotations

from pathlib import Path

from tests.channels.webchat.support import CUSTOMER_FIRST, chat_app, queue_customer
from tests.conftest import FakeClock, StoreMaker


async def test_round_trip_customer_queue_agent_reply_and_resume(
    make_store: StoreMaker,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    async with chat_app(await make_store(clock), clock, tmp_path) as chat:
        async with chat.customer() as customer:
            token = (await customer.hello())["session"]
            assert (await queue_customer(customer))["position"] == 1
            status, claimed = await chat.api(
                "tomek", "POST", "/api/claim", {"teams": ["technical"]}
            )
            assert status == 200 and claimed["channel"] == "chat"
            status, _ = await chat.api(
                "tomek", "POST", f"/api/contacts/{claimed['id']}/reply", {"text": "Już jestem."}
            )
            assert status == 200
            live = await customer.expect("agent")
            assert (live["text"], live["author"]) == ("Już jestem.", "tomek")

        async with chat.customer() as customer:
            welcome = await customer.hello(token)
            texts = [(h["from"], h["text"]) for h in welcome["history"]]
            assert texts[0] == ("customer", CUSTOMER_FIRST)
            assert texts[-1] == ("agent", "Już jestem.")
            assert welcome["history"][-1]["id"] == live["id"]  # the page shows it once
