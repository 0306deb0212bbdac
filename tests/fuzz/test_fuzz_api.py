"""Fuzzing the agent API on loopback: any body to any endpoint, any query, gets 2xx or a
4xx with a JSON reason, never 5xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.strategies import deep, json_values, raw_bodies, utf8_text
from tests.fuzz.support import FUZZ, LiveRig

POSTS = [
    "/api/claim",
    "/api/contacts/{id}/reply",
    "/api/contacts/{id}/heartbeat",
    "/api/contacts/{id}/resolve",
    "/api/contacts/{id}/transfer",
    "/api/contacts/{id}/release",
    "/api/contacts/{id}/typing",
    "/api/incidents",
    "/api/incidents/{id}/notify",
    "/api/presence",
]
GETS = ["/api/contacts", "/api/contacts/{id}", "/api/queues", "/api/stats", "/api/me"]
IDS = st.sampled_from(["01a2404b69ec1420cca6", "x", "%F0%9F%92%A9", "..", "%00"]) | st.text(
    "abcdef0123456789", max_size=24
)


def assert_reason(status: int, kind: str) -> None:
    """2xx, or a 4xx saying why: JSON from a handler, aiohttp's text when no route matched."""
    assert status < 500, status
    assert status < 400 or kind == "application/json" or status in (404, 405), (status, kind)


def requested(live: LiveRig, method: str, path: str, raw: bytes | None) -> tuple[int, str]:
    async def call() -> tuple[int, str]:
        response = await live.live.api("ania", method, path, raw=raw)
        await response.read()
        return response.status, response.content_type

    return live.run(call())


@FUZZ
@given(path=st.sampled_from(POSTS), contact=IDS, body=json_values)
@example(path="/api/claim", contact="x", body={"wait_s": float("nan")})
@example(path="/api/incidents", contact="x", body={"team": "billing", "text": "\ud800"})
@example(path="/api/contacts/{id}/reply", contact="x", body={"text": "\ud800"})
def test_any_json_body_gets_a_reason(live: LiveRig, path: str, contact: str, body: Any) -> None:
    raw = json.dumps(body).encode()
    status, kind = requested(live, "POST", path.format(id=contact), raw)
    assert_reason(status, kind)


@FUZZ
@given(path=st.sampled_from(POSTS), raw=raw_bodies)
@example(path="/api/claim", raw=deep(100_000).encode())
@example(path="/api/presence", raw=deep(50, '{"a":', "}").encode())
def test_any_raw_body_gets_a_reason(live: LiveRig, path: str, raw: bytes) -> None:
    status, kind = requested(live, "POST", path.format(id="x"), raw)
    assert_reason(status, kind)


@FUZZ
@given(
    path=st.sampled_from(GETS),
    contact=IDS,
    query=st.dictionaries(
        st.sampled_from(["channel", "state", "team", "address", "limit", "x"]), utf8_text
    ),
)
@example(path="/api/contacts", contact="x", query={"limit": "²"})
@example(path="/api/contacts", contact="x", query={"state": "nope", "team": "\x00"})
def test_any_query_gets_a_reason(
    live: LiveRig, path: str, contact: str, query: dict[str, str]
) -> None:
    target = path.format(id=contact) + ("?" + urlencode(query) if query else "")
    status, kind = requested(live, "GET", target, None)
    assert_reason(status, kind)
