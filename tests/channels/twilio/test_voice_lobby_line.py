"""The pushed lobby is a line: while the router is full, new calls wait in it with nothing
stored, and as soon as there is room the first in line is redirected into the flow through
the REST API (the IVR simulator's stand-in), first come first served; one that hangs up in
line leaves it, and one coming back by itself keeps its place."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from channels.twilio import BUSY, TwilioVoice
from channels.twilio.calls import Told
from channels.twilio.lobby import Line, Lobby
from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Outcome
from queues import Channel, Store
from tests.channels.twilio.voice_support import Phone, call_form, pushed_phone, twiml
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory"]
PRESS = "2 1001# 482913# 2"  # English, verified, technical: queued


@pytest.fixture
async def pushed(
    tmp_path: Path, clock: FakeClock, store: Store
) -> AsyncIterator[tuple[Phone, TwilioApi]]:
    async with pushed_phone(tmp_path, clock, store, lobby_in_flight=1) as running:
        yield running


def lobby_of(desk: Phone) -> Lobby:
    voice = getattr(desk.ctx.desk.listeners[Channel.VOICE], "__self__", None)
    assert isinstance(voice, TwilioVoice)
    assert voice.lobby is not None and voice.lobby.line is not None
    return voice.lobby


async def until(check: Callable[[], object], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.005)):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not so within {timeout_s} s")


def admitted(api: TwilioApi) -> list[str]:
    return [r["CallSid"] for r in api.redirects if "admitted=1" in r.get("Url", "")]


async def test_callers_wait_in_line_and_are_let_in_first_come_first_served(
    pushed: tuple[Phone, TwilioApi],
) -> None:
    desk, api = pushed
    lobby = lobby_of(desk)
    sids = [f"CA{n:032d}" for n in range(1, 4)]
    calls = []
    with lobby.answering():  # a webhook in flight: the router (room for 1) is full
        for n, sid in enumerate(sids, 1):
            # Hold patience (call seconds) outlasts a few lobby pauses of 45 s.
            calls.append(
                asyncio.create_task(
                    desk.call(
                        PRESS, call_sid=sid, from_number=f"+4860000{n:04d}", max_hold_s=500, api=api
                    )
                )
            )
            await until(partial(lambda n: lobby.waiting == n, n))  # in arrival order
        assert await desk.store.list_contacts(channel="voice") == []  # nothing stored yet
        assert lobby.entered == 3 and admitted(api) == []
    # Room again: the first in line is redirected; each one's webhooks then take the room
    # in turn, and the next is let in when it frees.
    results = await asyncio.wait_for(asyncio.gather(*calls), 30)
    assert admitted(api) == sids
    assert [r.outcome for r in results] == [Outcome.ABANDONED] * 3  # queued, then hung up
    stored = await desk.store.list_contacts(channel="voice")
    assert sorted(c.meta["call_sid"] for c in stored) == sids
    assert lobby.waiting == 0 and lobby.line is not None and lobby.line.admitted == 3
    scrape = await (await desk.client.get("/metrics")).text()
    assert "switchboard_voice_lobby_waiting 0.0" in scrape.splitlines()


async def test_a_caller_who_hangs_up_in_line_leaves_it_and_nothing_is_stored(
    pushed: tuple[Phone, TwilioApi],
) -> None:
    desk, _ = pushed
    lobby = lobby_of(desk)
    with capture_logs() as logs:
        with lobby.answering():
            first = call_form("CA" + "1" * 32)
            said, pause, back = twiml(await (await desk.post("/twilio/voice", first)).text())
            assert said.text == BUSY["pl"] and pause.get("length") == "45"  # hold_refresh_s
            assert (back.text or "").startswith("/twilio/voice?lobby=1&since=")
            await desk.post("/twilio/voice", call_form("CA" + "2" * 32))
            assert lobby.waiting == 2
            ended = call_form("CA" + "1" * 32, CallStatus="completed")
            assert (await desk.post("/twilio/voice/status", ended)).status == 204
            assert lobby.waiting == 1
        # Room: the one still in line is redirected (the stand-in knows no such live call:
        # 404, so its room is free again at once); the one who hung up never is.
        await until(lambda: any(e["event"] == "voice_redirect_refused" for e in logs))
    refused = [e["call_sid"] for e in logs if e["event"].startswith("voice_redirect")]
    assert refused == ["CA" + "2" * 32] and lobby.waiting == 0
    assert lobby.line is not None and lobby.line.reserved() == 0 and lobby.line.admitted == 0
    assert await desk.store.list_contacts(channel="voice") == []


async def test_a_caller_coming_back_keeps_its_place_and_one_redirected_is_let_in(
    pushed: tuple[Phone, TwilioApi],
) -> None:
    desk, _ = pushed
    lobby = lobby_of(desk)
    early = time.time() - 30  # came in 30 s ago, at another router
    with lobby.answering():
        await desk.post("/twilio/voice", call_form("CA" + "2" * 32))
        back = f"/twilio/voice?lobby=1&since={early:.3f}"
        verbs = twiml(await (await desk.post(back, call_form("CA" + "1" * 32))).text())
        assert (verbs[-1].text or "").endswith(f"lobby=2&since={early:.3f}")
        assert lobby.line is not None and lobby.line.head() == pytest.approx(early, abs=1e-3)
        # A call redirected from a line is let in even while the router is full.
        verbs = twiml(
            await (await desk.post("/twilio/voice?admitted=1", call_form("CA" + "3" * 32))).text()
        )
        assert verbs[0].tag == "Gather"


async def test_the_line_orders_by_arrival_frees_a_gone_callers_room_and_rests_on_failure() -> None:
    told: list[str] = []
    answers = {"CA1": [Told.GONE], "CA2": [Told.TOLD], "CA3": [Told.FAILED, Told.TOLD]}

    async def admit(sid: str) -> Told:
        told.append(sid)
        return answers[sid].pop(0)

    woken: list[int] = []
    room = [0]  # what the lobby would find free when woken

    def wake() -> None:
        woken.append(1)
        line.admit(room[0])

    line = Line(admit, wake, reserve_s=60)
    line.join("CA3", 30.0)
    line.join("CA1", 10.0)
    line.join("CA2", 20.0)
    line.join("CA1", 5.0)  # already in line: keeps its place
    assert line.head() == 10.0 and len(line) == 3
    line.admit(2)
    await until(lambda: len(told) == 2 and woken and line.admitted == 1)
    assert told == ["CA1", "CA2"]  # CA1 gone: its room is free, the line woken
    assert line.reserved() == 1  # CA2's room is held for it
    line.admit(1)  # CA2's redirect holds the only room
    await asyncio.sleep(0.01)
    assert told == ["CA1", "CA2"]
    line.arrived("CA2")
    line.admit(1)
    await until(lambda: len(told) == 3)
    # CA3 could not be told now: back in its place, and the line rests a tick.
    await until(lambda: "CA3" in line and line.reserved() == 0)
    line.admit(1)
    await asyncio.sleep(0.01)
    assert told == ["CA1", "CA2", "CA3"] and line.head() == 30.0
    room[0] = 1
    await until(lambda: len(told) == 4, timeout_s=3)  # the line's own tick, a second later
    assert told[-1] == "CA3" and len(line) == 0 and line.admitted == 2
    await line.aclose()


async def test_a_caller_in_two_routers_lines_is_let_in_once(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    """Router A keeps a caller in its line; the caller comes back by itself to router B,
    which has room and lets it in. When A has room, the store says the caller was let in
    already: A does not redirect it (that would take it back to the first question)."""
    async with (
        pushed_phone(tmp_path / "a", clock, store, lobby_in_flight=1) as (a, api),
        pushed_phone(
            tmp_path / "b", clock, store, lobby_in_flight=1, api_base_url=api.base_url
        ) as (b, _),
    ):
        sid = "CA" + "7" * 32
        lobby_a = lobby_of(a)
        with capture_logs() as logs:
            with lobby_a.answering():
                *_, back = twiml(await (await a.post("/twilio/voice", call_form(sid))).text())
                assert lobby_a.waiting == 1
                verbs = twiml(await (await b.post(back.text or "", call_form(sid))).text())
                assert verbs[0].tag == "Gather"  # B let it in
            await until(lambda: any(e["event"] == "voice_lobby_let_in_elsewhere" for e in logs))
        assert not [e for e in logs if e["event"].startswith("voice_redirect")]
        assert lobby_a.waiting == 0 and api.redirects == []
