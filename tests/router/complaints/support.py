"""Shared by the complaint tests: a complaint as the form posts it, and posting it."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient


def complaint(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": "Jan Kowalski",
        "contract_number": "1001",
        "phone": "+48500100200",
        "email": "jan@example.net",
        "what_happened": "Od 10 listopada internet zrywa co godzinę, a technik nie przyszedł.",
        "date_from": "2026-11-10",
        "answer_by": "email",
        "topic": "technical",
        "language": "pl",
        "confirm": True,
    }
    body.update(changes)
    return body


async def submit(client: TestClient[web.Request, web.Application], **changes: Any) -> Any:
    resp = await client.post("/api/complaints", json=complaint(**changes))
    assert resp.status == 201, await resp.text()
    return await resp.json()
