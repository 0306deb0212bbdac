"""Two router instances on one redis-server, as two `switchboard run` processes would be.

Each instance is its own app on its own port with its own RedisStore (own connections, own
pub/sub connection) and its own data dir; they share only Redis and the server secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from channels.webchat.adapter import agent_typing
from channels.webchat.board import QueueBoard
from queues import ContactState, open_store
from tests.channels.webchat.support import (
    CUSTOMER_FIRST,
    ChatApp,
    chat_app,
    queue_customer,
)
from tests.conftest import FakeClock, flush_redis

pytestmark = pytest.mark.slow


@pytest.fixture
async def two(
    redis_url: str, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[ChatApp, ChatApp]]:
    await flush_redis(redis_url)
    async with AsyncExitStack() as stack:
        apps = []
        for name in ("a", "b"):
            store = await open_store(redis_url, clock=clock)
            stack.push_async_callback(store.aclose)
            apps.append(await stack.enter_async_context(chat_app(store, clock, tmp_path / name)))
        assert apps[0].client.port != apps[1].client.port
        yield apps[0], apps[1]


async def test_reply_through_one_instance_reaches_the_chat_held_by_the_other(
    two: tuple[ChatApp, ChatApp],
) -> None:
    a, b = two
    async with a.customer() as customer:
        token = (await customer.hello())["session"]
        await queue_customer(customer)

        # Queued through A, seen and claimed through B.
        status, queues = await b.api("tomek", "GET", "/api/queues")
        technical = next(q for q in queues if q["team"] == "technical")
        assert status == 200 and technical["waiting"] == 1
        status, claimed = await b.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["messages"][0]["text"] == CUSTOMER_FIRST

        status, _ = await b.api(
            "tomek", "POST", f"/api/contacts/{claimed['id']}/reply", {"text": "Odpowiedź z B."}
        )
        assert status == 200
        # A learns of B's claim by polling Redis, so "joined" may come before or after the
        # reply that B published: take both in whichever order they arrive.
        frames: dict[str, dict[str, object]] = {}
        while not {"agent", "joined"} <= frames.keys():
            frame = await customer.recv(10)
            frames.setdefault(frame["type"], frame)
        reply = frames["agent"]
        assert (reply["text"], reply["author"]) == ("Odpowiedź z B.", "tomek")
        assert frames["joined"]["author"] == "tomek"  # A sees B's claim in Redis

        # Typing crosses processes too, both ways.
        async with b.ctx.store.subscribe(f"typing:{claimed['id']}") as typing:
            await customer.send({"type": "typing"})
            seen = json.loads(await asyncio.wait_for(anext(typing), 5))
        assert seen["contact_id"] == claimed["id"]
        await agent_typing(b.ctx.store, claimed["address"], author="tomek")
        assert (await customer.expect("agent_typing"))["author"] == "tomek"

    # The customer comes back through B: the same conversation, with A's history.
    async with b.customer() as customer:
        welcome = await customer.hello(token)
        assert welcome["resumed"] is True
        assert [h["text"] for h in welcome["history"]][-1] == "Odpowiedź z B."
        ack, _ = await customer.turn("Dziękuję, działa.")
        assert ack["type"] == "ack"
    stored = await a.ctx.store.get_contact(claimed["id"])
    assert stored.state is ContactState.ASSIGNED
    assert "Dziękuję, działa." in [m.text for m in stored.messages]


async def test_contacts_queued_on_either_instance_are_claimed_on_the_other(
    two: tuple[ChatApp, ChatApp],
) -> None:
    a, b = two
    async with a.customer() as on_a, b.customer() as on_b:
        await on_a.hello()
        await on_b.hello()
        assert (await queue_customer(on_a))["position"] == 1
        assert (await queue_customer(on_b, "Router nie działa"))["position"] == 2

        status, first = await b.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and first["messages"][0]["text"] == CUSTOMER_FIRST
        await on_b.expect("queued", position=1)  # B's customer moved up, A claimed nothing
        status, second = await a.api("ania", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and second["messages"][0]["text"] == "Router nie działa"

        await a.api("ania", "POST", f"/api/contacts/{second['id']}/reply", {"text": "Z A do B."})
        await b.api("tomek", "POST", f"/api/contacts/{first['id']}/reply", {"text": "Z B do A."})
        # (B's customer may first get the router's word that its wait halved: no author.)
        assert (await on_b.expect("agent", author="ania"))["text"] == "Z A do B."
        assert (await on_a.expect("agent", author="tomek"))["text"] == "Z B do A."


async def test_a_claim_waiting_on_one_instance_wakes_when_the_other_enqueues(
    two: tuple[ChatApp, ChatApp],
) -> None:
    a, b = two
    loop = asyncio.get_running_loop()
    waiting = asyncio.create_task(
        b.api("tomek", "POST", "/api/claim", {"teams": ["technical"], "wait_s": 20})
    )
    await asyncio.sleep(0.3)  # B's claim is parked on its wake-up
    assert not waiting.done()
    async with a.customer() as customer:
        await customer.hello()
        queued_at = loop.time()
        await queue_customer(customer)
        status, claimed = await asyncio.wait_for(waiting, 10)
        woke_after_s = loop.time() - queued_at
    assert status == 200 and claimed["messages"][0]["text"] == CUSTOMER_FIRST
    # Woken by the store's pub/sub, not by its 5 s fallback look.
    assert woke_after_s < 2.5


async def test_presence_is_one_across_instances(two: tuple[ChatApp, ChatApp]) -> None:
    a, b = two
    # Seen through B (a claim), counted on A.
    status, _ = await b.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 204
    await asyncio.sleep(1.1)  # past A's one-second snapshot of everyone's presence
    for app in (a, b):
        _, queues = await app.api("tomek", "GET", "/api/queues")
        technical = next(q for q in queues if q["team"] == "technical")
        assert technical["agents_available"] == 1
    # A break set through A is refused claims through B, at once.
    status, _ = await a.api("tomek", "POST", "/api/presence", {"status": "break"})
    assert status == 200
    status, body = await b.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 422 and "break" in body["error"]
    _, me = await b.api("tomek", "GET", "/api/me")
    assert me["status"] == "break"


async def settled(board: QueueBoard, quiet_s: float = 1.5) -> None:
    """Until the board has read nothing for ``quiet_s`` (longer than its minimum interval)."""
    loop = asyncio.get_running_loop()
    last, since = board.reads, loop.time()
    while board.refreshing or board.reads != last or loop.time() - since < quiet_s:
        if board.refreshing or board.reads != last:
            last, since = board.reads, loop.time()
        await asyncio.sleep(0.05)


async def test_positions_are_pushed_to_chats_of_one_instance_when_the_other_claims(
    two: tuple[ChatApp, ChatApp],
) -> None:
    a, b = two
    async with a.customer() as first, a.customer() as second, a.customer() as third:
        for customer in (first, second, third):
            await customer.hello()
        await queue_customer(first)
        await queue_customer(second, "Router nie działa")
        assert (await queue_customer(third, "Brak internetu"))["position"] == 3
        # The news of those three enqueues (pub/sub, possibly late on a loaded machine) is
        # read first: then only B's claim is left to count.
        await settled(a.adapter.board)
        reads = a.adapter.board.reads
        status, _ = await b.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200
        # Pushed through Redis pub/sub from B's claim: A looks nowhere on its own (its
        # fallback look is every 30 s), and reads the team's standings once for all chats.
        assert (await second.expect("queued", timeout_s=5, position=1))["wait_min"] >= 1
        assert (await third.expect("queued", timeout_s=5, position=2))["wait_min"] >= 1
        assert a.adapter.board.reads - reads == 1
        assert (await first.expect("joined", timeout_s=5))["author"] == "tomek"
