"""A frozen Redis (SIGSTOP) and a Redis that restarted: every ingest answers within the
deadline so the provider retries (HTTP 503, a chat error frame, SMTP 451; a phone call is
kept with a pause and a redirect to the same step, and gets 503 only after LATE_TRIES of
them), nothing acknowledged is lost once it thaws, and a pooled connection the restart left
stale is retried once instead of answering 503."""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from structlog.testing import capture_logs

from channels.twilio.voice import LATE_TRIES
from queues import Store, open_store
from tests.channels.email.support import make_mail
from tests.channels.telegram.support import update
from tests.channels.twilio.sms_support import twilio_form
from tests.hardening.redis_proc import RedisProcess
from tests.hardening.support import Rig, redis_rig

DEADLINE_S = 1.0
#: Far below it all: Redis' 10 s socket timeout, and Twilio's 15 s webhook timeout.
SOCKET_TIMEOUT_S = 10.0
CALL = {"CallSid": "CA" + "5" * 32, "From": "+48500100200", "To": "+48221234567"}


@pytest.fixture
async def rig(tmp_path: Path, redis: RedisProcess) -> AsyncIterator[Rig]:
    async with redis_rig(tmp_path, redis, channels={"ingest_deadline_s": DEADLINE_S}) as running:
        yield running


async def timed(work: Awaitable[Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = await work
    return result, time.monotonic() - started


async def sms(rig: Rig, form: dict[str, str]) -> int:
    response = await rig.twilio_post("/twilio/sms", form)
    await response.read()
    return response.status


async def call(rig: Rig, path: str = "/twilio/voice") -> int | str:
    """The status, or for a call kept waiting the URL it is redirected to."""
    response = await rig.twilio_post(path, CALL)
    body = await response.text()
    late = re.search(r"<Redirect[^>]*>([^<]*late=\d+)</Redirect>", body)
    return html.unescape(late.group(1)) if late else response.status


async def telegram(rig: Rig, body: dict[str, Any]) -> int:
    response = await rig.telegram_post(body)
    await response.read()
    return response.status


async def chat(ws: ClientWebSocketResponse, text: str) -> str:
    await ws.send_json({"type": "message", "id": "frozen-1", "text": text})
    while True:
        frame = await ws.receive_json(timeout=30)
        if frame.get("id") == "frozen-1":
            return str(frame["type"] if frame["type"] == "ack" else frame["reason"])


async def mail(rig: Rig, raw: bytes) -> int:
    code, _ = await rig.mail(raw)
    return code


async def settled(rig: Rig) -> None:
    """Wait until no ingest is still running past its deadline."""
    for _ in range(600):
        if not any(getattr(a, "_deadline", None) and a._deadline.late for a in rig.adapters):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("ingests still running 30 s after the store came back")


async def stored_once(store: Store, channel: str, text: str) -> bool:
    contacts = [await store.get_contact(c.id) for c in await store.list_contacts(channel=channel)]
    return sum(m.text == text for c in contacts for m in c.messages) == 1


async def test_a_frozen_redis_answers_every_ingest_within_the_deadline(
    rig: Rig, redis: RedisProcess
) -> None:
    before = twilio_form("przed zamrożeniem: internet nie działa")
    assert await sms(rig, before) == 200
    ws = await rig.client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello", "session": None, "language": "pl"})
    assert (await ws.receive_json(timeout=10))["type"] == "welcome"
    form = twilio_form("w czasie zamrożenia: faktura")
    tg = update("telegram w czasie zamrożenia", chat_id=424242)
    letter = make_mail(subject="Zamrożenie", body="Poczta w czasie zamrożenia.\n")

    redis.freeze()
    with capture_logs() as logs:
        answers = await asyncio.gather(
            timed(sms(rig, form)),
            timed(call(rig)),
            timed(telegram(rig, tg)),
            timed(chat(ws, "czat w czasie zamrożenia")),
            timed(mail(rig, letter)),
        )
    statuses = [status for status, _ in answers]
    assert statuses == [503, "/twilio/voice/step?n=0&late=1", 503, "store_unavailable", 451]
    assert all(elapsed < SOCKET_TIMEOUT_S for _, elapsed in answers), answers
    passed = [e for e in logs if e["event"] == "ingest_deadline_passed"]
    assert len(passed) == 5 and {e["deadline_s"] for e in passed} == {DEADLINE_S}

    redis.thaw()
    await settled(rig)
    # The providers retry: every one is taken now, and each message is stored once.
    assert await sms(rig, form) == 200
    # The caller was kept: the redirect rejoins the step, answered from what was stored.
    assert await call(rig, "/twilio/voice/step?n=0&late=1") == 200
    assert await call(rig) == 200
    assert await telegram(rig, tg) == 200
    assert await chat(ws, "czat w czasie zamrożenia") == "ack"
    assert await mail(rig, letter) == 250
    await ws.close()
    store = rig.store
    assert await stored_once(store, "sms", "przed zamrożeniem: internet nie działa")
    assert await stored_once(store, "sms", "w czasie zamrożenia: faktura")
    assert await stored_once(store, "telegram", "telegram w czasie zamrożenia")
    assert await stored_once(store, "chat", "czat w czasie zamrożenia")
    mails = await store.list_contacts(channel="email")
    assert len(mails) == 1
    calls = await store.list_contacts(channel="voice")
    assert len(calls) == 1


async def test_a_caller_on_hold_keeps_holding_while_redis_is_frozen(
    rig: Rig, redis: RedisProcess
) -> None:
    assert await call(rig) == 200
    redis.freeze()
    response = await rig.twilio_post("/twilio/voice/hold?w=45", CALL)
    body = await response.text()
    redis.thaw()
    assert response.status == 200
    assert "<Pause" in body and "/twilio/voice/hold?w=" in body  # looks again a poll later
    await settled(rig)


async def test_a_call_kept_waiting_gets_503_after_its_late_tries(
    rig: Rig, redis: RedisProcess
) -> None:
    redis.freeze()
    redirects = [await call(rig)]
    for _ in range(LATE_TRIES):
        redirects.append(await call(rig, str(redirects[-1])))
    assert redirects == [
        *(f"/twilio/voice/step?n=0&late={k}" for k in range(1, LATE_TRIES + 1)),
        503,
    ]
    redis.thaw()
    await settled(rig)
    assert await call(rig) == 200  # Twilio's next call, or a retry: taken, stored once
    assert len(await rig.store.list_contacts(channel="voice")) == 1


async def test_a_restarted_redis_is_reached_again_without_a_503(
    rig: Rig, redis: RedisProcess
) -> None:
    # Warm the pool: several connections, all idle in it when the server goes.
    answers = await asyncio.gather(*(sms(rig, twilio_form(f"przed {n}")) for n in range(8)))
    assert set(answers) == {200}
    redis.kill()
    redis.start()
    form = twilio_form("po restarcie")
    assert await sms(rig, form) == 200
    assert await stored_once(rig.store, "sms", "po restarcie")
    body = json.loads(json.dumps(update("po restarcie telegram", chat_id=5151)))
    assert await telegram(rig, body) == 200


async def test_a_pooled_connection_left_stale_by_a_restart_is_retried_once(
    redis: RedisProcess,
) -> None:
    store = await open_store(redis.url)
    try:
        # Several connections into the pool, all idle there when the server goes away.
        await asyncio.gather(
            *(store.put_session(f"warm:{n}", {"n": n}, ttl_s=60) for n in range(6))
        )
        redis.kill()
        redis.start()
        # The first operations meet connections the old server closed: each is sent again
        # once on a new connection, instead of failing with StoreUnavailable.
        for n in range(6):
            assert await store.get_session(f"warm:{n}") == {"n": n}
    finally:
        await store.aclose()
