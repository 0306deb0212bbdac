"""Issue 14: the unasked update of a large change of the wait, with two real `switchboard
run` processes on one Redis (and a Redis Cluster). Telegram customers queue through A and
B, claims come through A and B in turn, and each customer gets exactly the updates the
naive rule (every waiting contact looked at after every claim) gives, once each, whichever
process made the claim that moved them."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from tests.multiprocess.support import CREDENTIALS, TECHNICAL_TEXT, Http, Pair, new_update

pytestmark = pytest.mark.slow

PLACE_MIN = 5  # nothing handled yet: 300 s a place, one agent (busy) or none
WAITING = 10
CLAIMS = 7
_chats = itertools.count(random.randrange(1000) * 100 + 880_000_000)


def update_of(text: str) -> tuple[int, int]:
    """(place, minutes) of the Polish queue_update prompt."""
    place = int(text.split("na miejscu ")[1].split(" ")[0])
    return place, int(text.split("około ")[1].split(" ")[0])


async def test_each_large_change_reaches_its_customer_once_across_two_routers(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    telegram = pair.telegram
    chats = [next(_chats) for _ in range(WAITING)]
    for n, chat in enumerate(chats):
        first, second = (a, b) if n % 2 else (b, a)
        assert await http.telegram(first, new_update(TECHNICAL_TEXT, chat)) == 200
        assert await http.telegram(second, new_update(CREDENTIALS, chat)) == 200
        rows = await http.ok(a, "ania", "GET", f"/api/contacts?channel=telegram&address={chat}")
        assert rows and rows[0]["state"] == "waiting", rows

    told = {chat: (n + 1) * PLACE_MIN for n, chat in enumerate(chats)}
    expected: dict[int, list[tuple[int, int]]] = {chat: [] for chat in chats}

    def updates() -> dict[int, list[tuple[int, int]]]:
        return {
            chat: [update_of(t) for t in telegram.texts(chat) if t.startswith("Zmiana czasu")]
            for chat in chats
        }

    for k in range(1, CLAIMS + 1):
        router = (a, b)[k % 2]
        claimed = await http.ok(router, "tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert claimed["address"] == str(chats[k - 1])
        for ahead, chat in enumerate(chats[k:]):
            now_min = (ahead + 1) * PLACE_MIN
            moved = abs(told[chat] - now_min)
            if moved >= 5 and moved >= told[chat] / 2:
                told[chat] = now_min
                expected[chat].append((ahead + 1, now_min))
        # The claim's look runs after it answers: let it finish before the next claim moves
        # the queue again (else it tells the place the customer has by then).
        for _ in range(100):
            if updates() == expected:
                break
            await asyncio.sleep(0.1)
        assert updates() == expected, f"after claim {k} through {router.name}"

    await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
    assert updates() == expected
    assert sum(len(v) for v in expected.values()) >= WAITING - 2  # the test moved the queue
