"""`switchboard agent`, the terminal client, as an agent runs it against a live app."""

from __future__ import annotations

import asyncio
import os
import sys

from queues import Channel, ContactState
from tests.router.conftest import ENV, ROOT, Desk

STORE_BACKENDS = ["memory"]


async def test_terminal_agent_claims_replies_and_resolves(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500000301", "Dzień dobry, faktura się nie zgadza")
    queued = await sms.say("+48500000301", "jan.kowalski 482913")
    url = str(desk.client.make_url("")).rstrip("/")
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router.cli", "agent", "-c", str(ROOT / "config.yaml"),
        "--url", url, "--token", desk.tokens["ola"],
        cwd=ROOT, env={**os.environ, **ENV}, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert agent.stdin is not None and agent.stdout is not None
    stdout = agent.stdout
    seen: list[str] = []

    async def read_until(text: str) -> None:
        while not any(text in line for line in seen):
            line = await asyncio.wait_for(stdout.readline(), 20)
            assert line, "".join(seen)
            seen.append(line.decode())

    try:
        await read_until("Type a reply")
        screen = "".join(seen)
        assert "VERIFIED jan.kowalski" in screen and "Jan Kowalski" in screen
        assert "faktura się nie zgadza" in screen
        assert "482913" not in screen
        agent.stdin.write("Sprawdzam fakturę.\n".encode())
        await read_until("sent")
        agent.stdin.write(b"/resolve solved\n")
        await read_until("resolved")
    finally:
        agent.kill()
        await agent.wait()
    # The agent's reply (after the resolve the CSAT question goes out too, authorless).
    assert [(r.text, r.author) for r in sms.sent if r.author] == [("Sprawdzam fakturę.", "ola")]
    done = await desk.ctx.store.get_contact(queued.contact.id)
    assert done.state is ContactState.RESOLVED and done.disposition == "solved"
