"""The console's live feed follows the read rule on every push, not only when a watch starts:
a contact transferred to a team the agent does not serve stops reaching them (they are told
``gone``), while a supervisor keeps receiving it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from queues import Channel
from router.app.factory import create_app
from router.http.context import CONTEXT
from router.http.live import LIVE_SETTINGS, LiveSettings
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT, Desk, repo_config
from tests.router.http.test_pages import frames_until
from tests.router.testchannel import TestChannel

STORE_BACKENDS = ["memory", "sqlite", "redis"]


def _agents() -> dict[str, Any]:
    """The shipped agents plus ewa: billing only, and a supervisor."""
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["agents"]
    demo = [*shipped["demo"], {"name": "ewa", "teams": ["billing"]}]
    return {**shipped, "demo": demo, "supervisors": ["ewa"]}


@pytest.fixture
async def web(make_store, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Desk]:  # type: ignore[no-untyped-def]
    store = await make_store(clock)
    channels = {ch: TestChannel(channel=ch) for ch in (Channel.SMS,)}
    app = create_app(
        repo_config(tmp_path, agents=_agents()),
        store,
        clock=clock,
        outboxes=channels,
        adapters=lambda ctx: [],
        env=ENV,
        reaper=False,
    )
    # The fallback read is a minute away: what arrives is pushed on change.
    app[LIVE_SETTINGS] = LiveSettings(queue_push_s=60, contact_poll_s=60, auth_timeout_s=1)
    async with TestClient(TestServer(app)) as client:
        for channel in channels.values():
            channel.inbox = client.app[CONTEXT].service
        yield Desk(client, channels, clock)


async def frames_for(ws: Any, contact_id: str, quiet_s: float) -> list[dict[str, Any]]:
    """The frames about ``contact_id`` that arrive until none came for ``quiet_s``."""
    found: list[dict[str, Any]] = []
    while True:
        try:
            msg = await ws.receive(timeout=quiet_s)
        except TimeoutError:
            return found
        assert msg.type is WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        about = frame.get("contact_id") or (frame.get("contact") or {}).get("id")
        if about == contact_id:
            found.append(frame)


async def transferred_away(web: Desk, agent: str, address: str) -> tuple[Any, str]:
    """``agent`` (billing) claims a billing contact, watches it, and transfers it to
    technical; tomek claims it there and replies. What ``agent``'s feed said, and the id."""
    sms = web.channels[Channel.SMS]
    await sms.say(address, "faktura")
    contact_id = (await sms.say(address, "jan.kowalski 482913")).contact.id
    status, claimed = await web.api(agent, "POST", "/api/claim", {"teams": ["billing"]})
    assert status == 200 and claimed["id"] == contact_id
    ws = await web.client.ws_connect("/agent/ws")
    await ws.send_json({"type": "auth", "token": web.tokens[agent]})
    await frames_until(ws, "ready")
    await ws.send_json({"type": "watch", "contact_ids": [contact_id]})
    assert (await frames_until(ws, "contact"))["contact"]["agent"] == agent
    await asyncio.sleep(0.1)  # the subscriptions are in place

    path = f"/api/contacts/{contact_id}"
    assert (await web.api(agent, "POST", f"{path}/transfer", {"team": "technical"}))[0] == 200
    status, claimed = await web.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200 and claimed["id"] == contact_id
    assert (await web.api("tomek", "POST", f"{path}/reply", {"text": "Sprawdzam"}))[0] == 200
    return ws, contact_id


async def test_a_contact_transferred_to_a_team_the_agent_does_not_serve_is_no_longer_pushed(
    web: Desk,
) -> None:
    ws, contact_id = await transferred_away(web, "ola", "+48600000001")
    async with ws:
        frames = await frames_for(ws, contact_id, quiet_s=0.5)
    assert frames, "the console is told the contact went"
    # A push read before the transfer landed may still show the contact as ola's (news of
    # an earlier change, late on a loaded machine: CI saw one); none shows it after.
    shown = [f["contact"] for f in frames if f["type"] == "contact"]
    assert all(c["team"] == "billing" and c["agent"] == "ola" for c in shown), shown
    assert all(m["text"] != "Sprawdzam" for c in shown for m in c["messages"]), shown
    assert frames[-1]["type"] == "gone" and "technical" in frames[-1]["error"]
    status, _ = await web.api("ola", "GET", f"/api/contacts/{contact_id}")
    assert status == 403  # the same rule as the API's


async def test_a_supervisor_keeps_receiving_a_contact_transferred_away(web: Desk) -> None:
    ws, contact_id = await transferred_away(web, "ewa", "+48600000002")
    async with ws:
        frames = await frames_for(ws, contact_id, quiet_s=0.5)
    assert all(f["type"] == "contact" for f in frames), frames
    last = frames[-1]["contact"]
    assert last["team"] == "technical" and last["agent"] == "tomek"
    assert last["messages"][-1]["text"] == "Sprawdzam"
