"""New calls wait in the lobby, answered at once and with nothing stored, while the router
is answering as many voice webhooks as it may (here 2, against a frozen Redis); a call
coming back from the lobby is let in once there is room."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from channels.twilio import BUSY, TwilioVoice
from tests.hardening.redis_proc import RedisProcess
from tests.hardening.support import Rig, redis_rig

DEADLINE_S = 1.0


def call_form(n: int) -> dict[str, str]:
    return {"CallSid": f"CA{n:032d}", "From": f"+4850010{n:04d}", "To": "+48221234567"}


@pytest.fixture
async def rig(tmp_path: Path, redis: RedisProcess) -> AsyncIterator[Rig]:
    channels = {
        "ingest_deadline_s": DEADLINE_S,
        "twilio": {"lobby_in_flight": 2, "lobby_pause_s": 7},
    }
    async with redis_rig(tmp_path, redis, channels=channels) as running:
        yield running


def voice(rig: Rig) -> TwilioVoice:
    return next(a for a in rig.adapters if isinstance(a, TwilioVoice))


async def post(rig: Rig, path: str, form: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    response = await rig.twilio_post(path, form)
    return response.status, await response.text(), time.monotonic() - started


async def test_new_calls_wait_in_the_lobby_while_two_webhooks_are_in_flight(
    rig: Rig, redis: RedisProcess
) -> None:
    lobby = voice(rig).lobby
    assert lobby is not None and lobby.max_in_flight == 2
    redis.freeze()
    # Two calls come in: their work waits for the store, past the deadline.
    first = [asyncio.create_task(post(rig, "/twilio/voice", call_form(n))) for n in (1, 2)]
    for _ in range(100):
        if lobby.in_flight == 2:
            break
        await asyncio.sleep(0.01)
    assert lobby.in_flight == 2
    with capture_logs() as logs:
        status, body, took = await post(rig, "/twilio/voice", call_form(3))
    # The third is answered at once, without the (frozen) store: the sentence, a pause, back.
    assert status == 200 and took < DEADLINE_S / 2
    assert BUSY["pl"] in body and '<Pause length="7" />' in body
    assert re.search(r"<Redirect[^>]*>/twilio/voice\?lobby=1</Redirect>", body)
    assert [e["in_flight"] for e in logs if e["event"] == "voice_lobby"] == [2]
    # The two in flight are answered at the deadline (their work goes on): still full.
    assert [s for s, _, _ in await asyncio.gather(*first)] == [200, 200]
    assert voice(rig).lobby is lobby and lobby.full(2)
    status, body, _ = await post(rig, "/twilio/voice?lobby=1", call_form(3))
    # Back from the lobby with no room yet: another pause, in silence this time.
    assert status == 200 and BUSY["pl"] not in body and "lobby=2" in body

    redis.thaw()
    for _ in range(200):  # the late work finishes: room again
        if not lobby.full(voice(rig)._deadline.late):
            break
        await asyncio.sleep(0.05)
    stored = {c.address for c in await rig.store.list_contacts(channel="voice")}
    assert stored == {"+4850010" + "0001", "+4850010" + "0002"}  # nothing of call 3 yet
    status, body, _ = await post(rig, "/twilio/voice?lobby=2", call_form(3))
    assert status == 200 and "<Gather" in body and "lobby=" not in body
    stored = {c.address for c in await rig.store.list_contacts(channel="voice")}
    assert "+4850010" + "0003" in stored and lobby.entered == 1
    scrape = await (await rig.client.get("/metrics")).text()
    assert "switchboard_voice_lobby_entered_total 1.0" in scrape.splitlines()
    assert "switchboard_voice_webhooks_in_flight 0.0" in scrape.splitlines()
