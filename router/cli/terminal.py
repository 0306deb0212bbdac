"""`switchboard agent`: a terminal agent client on the HTTP API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

from queues import stop_tasks

__all__ = ["format_contact", "run_agent"]

HELP = (
    "Type a reply and press Enter to send it. Commands: /resolve [disposition], "
    "/transfer TEAM, /release, /show, /quit"
)


def format_contact(contact: dict[str, Any]) -> str:
    """A contact as the agent reads it: who, how, verified or not, and the transcript."""
    info = contact.get("account_info") or {}
    badge = f"VERIFIED {contact['account']}" if contact.get("verified") else "NOT VERIFIED"
    lines = [
        f"── {contact['channel']} {contact['address']} · team {contact['team']} · "
        f"{badge} · lang {contact.get('language')}",
    ]
    if info:
        lines.append(
            f"   {info['name']} · tier {info['tier']} · balance {info['balance']} · "
            f"services: {', '.join(info['services'])}"
        )
    if contact.get("waited_s") is not None:
        lines.append(f"   waited {contact['waited_s']:.0f} s · SLA due {contact.get('sla_due')}")
    for message in contact.get("messages", []):
        if message["text"]:  # a call's start or a timeout carries no text
            lines.append(_line(message))
    return "\n".join(lines)


def _line(message: dict[str, Any]) -> str:
    who = "customer" if message["direction"] == "in" else (message.get("author") or "flow")
    return f"   [{message['at'][11:19]}] {who}: {message['text']}"


class _Api:
    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self._session = session
        self._base = base.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self._session.request(
            method, self._base + path, json=body, headers=self._headers
        ) as resp:
            data = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, data


async def _ask(prompt: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, input, prompt)


async def _heartbeat(api: _Api, contact_id: str, every_s: float = 20.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        await api.call("POST", f"/api/contacts/{contact_id}/heartbeat")


async def _follow(api: _Api, contact_id: str, seen: int) -> None:
    """Print the customer's new messages while the agent works on the contact."""
    while True:
        await asyncio.sleep(2.0)
        status, contact = await api.call("GET", f"/api/contacts/{contact_id}")
        if status == 200:
            for message in contact["messages"][seen:]:
                if message["direction"] == "in":
                    print("\n" + _line(message), flush=True)
            seen = len(contact["messages"])


async def _work(api: _Api, contact: dict[str, Any]) -> bool:
    """Work one contact until it is resolved, transferred or released; False to quit."""
    cid = contact["id"]
    print(format_contact(contact), "\n" + HELP, flush=True)
    tasks = [
        asyncio.create_task(_heartbeat(api, cid)),
        asyncio.create_task(_follow(api, cid, len(contact["messages"]))),
    ]
    try:
        while True:
            line = (await _ask("> ")).strip()
            if not line:
                continue
            word, _, rest = line.partition(" ")
            if word == "/resolve":
                status, data = await api.call(
                    "POST", f"/api/contacts/{cid}/resolve", {"disposition": rest or "solved"}
                )
            elif word == "/transfer":
                status, data = await api.call(
                    "POST", f"/api/contacts/{cid}/transfer", {"team": rest.strip()}
                )
            elif word in ("/release", "/quit"):
                status, data = await api.call("POST", f"/api/contacts/{cid}/release")
                if word == "/quit":
                    return False
            elif word == "/show":
                _, full = await api.call("GET", f"/api/contacts/{cid}")
                print(format_contact(full))
                continue
            else:
                status, data = await api.call("POST", f"/api/contacts/{cid}/reply", {"text": line})
                print("   sent" if status == 200 else f"   not sent: {data}", flush=True)
                continue
            if status == 200:
                print(f"   {data['state']}", flush=True)
                return True
            print(f"   refused ({status}): {data}", flush=True)
    finally:
        await stop_tasks(*tasks)


async def run_agent(url: str, token: str, teams: Sequence[str] | None) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        api = _Api(session, url, token)
        try:
            status, queues = await api.call("GET", "/api/queues")
        except aiohttp.ClientError as exc:
            print(f"switchboard agent: cannot reach {url}: {exc}", file=sys.stderr)
            return 1
        if status == 401:
            print("switchboard agent: the token was refused", file=sys.stderr)
            return 1
        print("Queues: " + ", ".join(f"{q['team']} {q['waiting']} waiting" for q in queues))
        body: dict[str, Any] = {"wait_s": 25}
        if teams:
            body["teams"] = list(teams)
        print("Waiting for a contact… (Ctrl-C to quit)", flush=True)
        while True:
            status, contact = await api.call("POST", "/api/claim", body)
            if status == 204:
                continue
            if status != 200:
                print(f"switchboard agent: claim refused ({status}): {contact}", file=sys.stderr)
                return 1
            if not await _work(api, contact):
                return 0
            print("Waiting for the next contact…", flush=True)
