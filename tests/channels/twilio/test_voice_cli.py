"""`switchboard call` as a user runs it: a subprocess calling a running app."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from queues import ContactState, Store
from tests.channels.twilio.voice_support import AUTH_TOKEN, VOICE_ENV, phone
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT

STORE_BACKENDS = ["memory"]
PRESS = "2 1001# 482913# 2"


async def switchboard_call(
    tmp_path: Path, *args: str, token: str | None
) -> asyncio.subprocess.Process:
    config = tmp_path / "config.yaml"
    if not config.exists():
        shutil.copy(ROOT / "config.yaml", config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    if token is not None:
        env["TWILIO_AUTH_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router.cli", "call", "-c", str(config), *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_scripted_call_prints_its_transcript_as_json(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with phone(tmp_path, clock, store, env=VOICE_ENV) as desk:
        process = await switchboard_call(
            tmp_path, "--url", desk.base, "--press", PRESS, "--max-hold-s", "0", "--json",
            token=AUTH_TOKEN,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 3, err.decode()
        transcript = json.loads(out)
        assert transcript["outcome"] == "abandoned" and transcript["reason"] == "max_hold"
        gathers = [e for e in transcript["events"] if e["type"] == "gather"]
        assert [g["pressed"] for g in gathers] == ["2", "1001#", "482913#", "2"]
        says = [e for e in transcript["events"] if e["type"] == "say"]
        assert says[-1]["language"] == "en-US"
        assert says[-1]["text"].startswith("You are number 1 in the queue.")
        (contact,) = await store.list_contacts(channel="voice")
        assert contact.state is ContactState.ABANDONED and contact.team == "technical"
        assert contact.meta["call_sid"] == transcript["call_sid"]


@pytest.mark.slow
async def test_demo_call_is_connected_to_the_agent_who_claims_it(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    # The README's phone demo: `run --demo`, `switchboard call`, an agent claims the call.
    async with phone(tmp_path, clock, store, env=ENV, demo=True) as desk:
        process = await switchboard_call(
            tmp_path, "--url", desk.base, "--press", PRESS, "--max-hold-s", "120", "--speed", "20",
            token=None,  # signs with the demo token under the config's data dir
        )  # fmt: skip
        # The agent waits for the next contact, as `switchboard agent` does.
        body = {"teams": ["technical"], "wait_s": 20}
        status, claimed = await desk.api("ania", "POST", "/api/claim", body)
        assert status == 200 and claimed["channel"] == "voice"
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        lines = out.decode().splitlines()
        assert lines[0] == f"calling {desk.base}/twilio/voice from +48500100200"
        assert "[en-US] For English, press 2." in lines
        assert "   pressed 482913#" in lines
        assert lines[-2:] == [
            "[en-US] Connecting you to an agent.",
            "connected to agent ania (client ania-desk)",
        ]
