"""Issue 13: spike detection and incident updates with two real `switchboard run` processes,
A and B, on one store (one redis-server, then a 3-master Redis Cluster).

Arrivals in either process count alike: a burst split over A and B, too small in each to be
unusual, makes one suggestion, the same through both. Opened through one, its contacts are
linked wherever they arrive, and an update sent through both at once reaches each once.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest

from tests.multiprocess.support import Http, Pair, Router, new_update

pytestmark = pytest.mark.slow

_numbers = itertools.count(random.randrange(10_000) * 1000)
OUTAGE = ["nie działa internet", "no internet", "не работает интернет", "Awaria światłowodu"]


def new_number() -> str:
    return f"+4870{next(_numbers):07d}"


async def suggestions(http: Http, router: Router) -> list[dict[str, Any]]:
    found = await http.ok(router, "ania", "GET", "/api/incidents/suggestions")
    assert isinstance(found, list)
    return found


async def test_a_burst_split_over_a_and_b_makes_one_suggestion_and_one_update_each(
    pair: Pair, http: Http
) -> None:
    a, b = pair.both
    assert await suggestions(http, a) == [] and await suggestions(http, b) == []
    # Twelve customers at once, six through each process: six of six alone is not unusual
    # enough (a share of a tenth: p = 1e-6), so the suggestion shows both counted.
    await asyncio.gather(
        *(http.sms(a if n % 2 else b, new_number(), OUTAGE[n % len(OUTAGE)]) for n in range(12))
    )
    on_a, on_b = await suggestions(http, a), await suggestions(http, b)
    assert len(on_a) == 1 and on_a == on_b, (on_a, on_b)
    [found] = on_a
    assert found["topic"] == "internet+outage" and found["team"] == "technical"
    assert found["count"] >= 7

    # Opened through B (twice at once: one incident), linked and told through A.
    opened = await asyncio.gather(
        *(
            http.api(router, "ania", "POST", "/api/incidents", {"from_suggestion": found["id"]})
            for router in (b, b)
        )
    )
    statuses = sorted(status for status, _ in opened)
    assert statuses in ([201, 201], [201, 404]), opened
    incident = next(body for status, body in opened if status == 201)
    listed = await http.ok(a, "ania", "GET", "/api/incidents")
    assert [i["id"] for i in listed if i["closed_at"] is None].count(incident["id"]) == 1

    chats = [random.randrange(10**8, 10**9) for _ in range(3)]
    for n, chat_id in enumerate(chats):
        router = a if n % 2 else b
        assert await http.telegram(router, new_update("brak internetu od rana", chat_id)) == 200
    for chat_id in chats:
        [stored] = await http.ok(
            a, "ania", "GET", f"/api/contacts?channel=telegram&address={chat_id}"
        )
        contact = await http.ok(b, "ania", "GET", f"/api/contacts/{stored['id']}")
        assert contact["incident"] == incident["id"]

    update = {"pl": "Technicy są już na miejscu.", "en": "Technicians are on site."}
    done = await asyncio.gather(
        *(
            http.ok(router, "ania", "POST", f"/api/incidents/{incident['id']}/notify",
                    {"text": update})
            for router in (a, b)
        )
    )  # fmt: skip
    assert sum(d["posted"] for d in done) == sum(d["linked"] for d in done) // 2
    assert all(d["linked"] == 15 for d in done)
    telegram = pair.telegram

    async def told() -> list[int]:
        return [telegram.texts(chat).count(update["pl"]) for chat in chats]

    for _ in range(50):
        if await told() == [1, 1, 1]:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # a second copy would come now
    assert await told() == [1, 1, 1]
