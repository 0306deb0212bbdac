"""A crowd of simulated callers on hold through the real app with pushed hold: the IVR
simulator's crowd mode (``switchboard call --calls N --concurrency N``) against the voice
channel, with claims putting callers through as they wait. Memory store here (the point is
the channels' and the simulator's cost); ``make bench`` runs the outage on Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from functools import partial
from pathlib import Path

from channels.twilio import sign
from ivr.simulator.call import CallSpec, Outcome
from ivr.simulator.many import Progress, place_calls
from queues import Capacity, Store
from tests.channels.twilio.voice_support import ACCOUNT_SID, AUTH_TOKEN, pushed_phone
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory"]
CODE = "482913"


async def test_a_crowd_on_hold_is_cheap_and_the_claimed_are_put_through(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    """200 simulated callers hold at once; 50 are claimed while they wait. Each waiting
    caller costs one webhook per announcement (45 call seconds), not a poll every 5."""
    async with pushed_phone(tmp_path, clock, store) as (desk, api):
        # One agent takes the fifty calls: no capacity here (a call is held alone otherwise).
        desk.ctx.desk.capacity = Capacity()
        seen: list[Progress] = []
        spec = CallSpec(url=desk.base, speed=20, max_hold_s=150, signed_base=desk.base)
        spec = dataclasses.replace(spec, account_sid=ACCOUNT_SID, transcript=False)
        crowd = asyncio.create_task(
            place_calls(
                spec,
                ["2", "1001#", f"{CODE}#", "2"],
                calls=200,
                concurrency=200,
                sign=partial(sign, AUTH_TOKEN),
                api=api,
                progress=seen.append,
                progress_s=0.2,
            )
        )
        claimed = 0
        async with asyncio.timeout(30):
            while claimed < 50:
                body = {"teams": ["technical"], "wait_s": 5}
                status, contact = await desk.api("tomek", "POST", "/api/claim", body)
                assert status == 200, contact
                claimed += 1
            results, summary = await crowd
    assert (summary.calls, summary.connected, summary.abandoned) == (200, 50, 150)
    assert summary.errors == 0 and summary.hung_up == 0
    assert max(p.on_hold for p in seen) >= 100  # the crowd did wait at once
    assert all(r.waited_s is not None for r in results if r.outcome is Outcome.CONNECTED)
    assert summary.wait_p50_s <= summary.wait_p99_s <= 150
    # Every caller was asked the first question (some after the lobby's line: 200 at once).
    assert summary.asked == 200 and 0 < summary.asked_p50_s <= summary.asked_p99_s < 150
    assert summary.to_json()["first_question_s"]["p99"] == round(summary.asked_p99_s, 3)
    # The call, four answers, then at most one hold webhook per 45 s announcement (150 s:
    # four) and the one the claim's redirect fetched: never a 5 s poll (that would be 30).
    assert summary.requests <= 200 * (5 + 5)
    assert not [r for r in results if r.events]  # crowds keep no transcripts
