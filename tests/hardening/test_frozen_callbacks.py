"""A frozen Redis (SIGSTOP) and the callback and keypad-survey webhooks: each answers 503
within the ingest deadline (Twilio retries), like the SMS and voice webhooks, and answers
again once Redis thaws."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from channels.twilio import Callbacks, TwilioVoice
from channels.twilio.auth import HEADER, sign
from tests.hardening.redis_proc import RedisProcess
from tests.hardening.support import AUTH_TOKEN, Rig, redis_rig

DEADLINE_S = 1.0
#: Redis' own socket timeout: what an answer would take without the deadline.
SOCKET_TIMEOUT_S = 10.0
PUBLIC_URL = "https://switchboard.example"
CALL = {"CallSid": "CA" + "6" * 32, "From": "+48500100200", "To": "+48221234567"}


@pytest.fixture
async def rig(tmp_path: Path, redis: RedisProcess) -> AsyncIterator[Rig]:
    changes = {
        "channels": {"ingest_deadline_s": DEADLINE_S},
        # Callbacks need a public URL (Twilio fetches the answer URL there).
        "http": {"public_url": PUBLIC_URL},
    }
    async with redis_rig(tmp_path, redis, **changes) as running:
        yield running


async def post(rig: Rig, path_qs: str, form: Mapping[str, str]) -> tuple[int, float]:
    """POST ``form`` as Twilio does, signed for the public URL; (status, seconds taken)."""
    signature = sign(AUTH_TOKEN, PUBLIC_URL + path_qs, form)
    started = time.monotonic()
    response = await rig.twilio_post(path_qs, form, signed=False, headers={HEADER: signature})
    await response.read()
    return response.status, time.monotonic() - started


def voice(rig: Rig) -> TwilioVoice:
    return next(a for a in rig.adapters if isinstance(a, TwilioVoice))


def late(rig: Rig) -> int:
    """Webhook work still running past its deadline, in the callbacks and the survey."""
    parts: list[Any] = [voice(rig).callbacks, voice(rig).survey]
    return sum(part._deadline.late for part in parts)


async def test_callback_and_survey_webhooks_answer_503_within_the_deadline(
    rig: Rig, redis: RedisProcess
) -> None:
    assert isinstance(voice(rig).callbacks, Callbacks) and voice(rig).survey is not None
    assert (await post(rig, "/twilio/voice", CALL))[0] == 200  # the call, stored
    contact_id = (await rig.store.list_contacts(channel="voice"))[0].id
    webhooks = [
        ("/twilio/voice/callback?w=0", {**CALL, "Digits": "1"}),
        ("/twilio/voice/callback/number?t=0", {**CALL, "Digits": "", "FinishedOnKey": "#"}),
        (f"/twilio/voice/callback/answer?c={contact_id}&a=1", CALL),
        (f"/twilio/voice/callback/status?c={contact_id}&a=1", {**CALL, "CallStatus": "busy"}),
        (f"/twilio/voice/survey?c={contact_id}", {**CALL, "Digits": "5"}),
    ]

    redis.freeze()
    with capture_logs() as logs:
        answers = await asyncio.gather(*(post(rig, path, form) for path, form in webhooks))
    assert [status for status, _ in answers] == [503] * len(webhooks), answers
    assert all(elapsed < DEADLINE_S + 2.0 for _, elapsed in answers), answers
    assert all(elapsed < SOCKET_TIMEOUT_S for _, elapsed in answers)
    passed = [e for e in logs if e["event"] == "ingest_deadline_passed"]
    assert len(passed) == len(webhooks) and {e["deadline_s"] for e in passed} == {DEADLINE_S}

    redis.thaw()
    for _ in range(600):
        if not late(rig):
            break
        await asyncio.sleep(0.05)
    assert late(rig) == 0, "webhook work still running 30 s after Redis thawed"
    # Twilio's retries are answered: the contact is still in its flow (not waiting), so the
    # offer's key sends the caller back to holding, and a stale try is hung up on.
    status, _ = await post(rig, *webhooks[0])
    assert status == 200
    status, _ = await post(rig, *webhooks[2])
    assert status == 200
