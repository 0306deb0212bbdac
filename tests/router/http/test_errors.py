"""The one table from the layers' errors to HTTP answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels import SendFailed
from queues import ContactNotFound, ContactState, InvalidTransition, NotHolder, StoreUnavailable
from router.errors import DeskError, RouterError, UnknownIncident
from router.http import STATUS, error_middleware


class _Refused(DeskError):
    """A subclass answers like its nearest listed base."""


ERRORS: dict[str, Exception] = {
    "store": StoreUnavailable("redis is down"),
    "contact": ContactNotFound("c1"),
    "holder": NotHolder("c1", "bob"),
    "state": InvalidTransition("c1", ContactState.RESOLVED, "release"),
    "incident": UnknownIncident("i9"),
    "desk": _Refused("team 'sales' does not exist"),
    "send": SendFailed("sms", "the provider refused", retryable=True),
    "bug": RuntimeError("a bug"),
    "router": RouterError("not in the table"),
}


async def _serve() -> TestClient[web.Request, web.Application]:
    async def fail(request: web.Request) -> web.StreamResponse:
        raise ERRORS[request.match_info["name"]]

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/{name}", fail)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_each_error_answers_its_status_with_a_json_reason() -> None:
    client = await _serve()
    try:
        got: dict[str, tuple[int, Any]] = {}
        for name in ERRORS:
            response = await client.get(f"/{name}")
            json_body = response.content_type == "application/json"
            body = await response.json() if json_body else None
            got[name] = (response.status, body)
    finally:
        await client.close()
    assert got["store"] == (503, {"error": "the store is unavailable; try again shortly"})
    assert got["contact"][0] == 404 and "c1" in got["contact"][1]["error"]
    assert got["incident"] == (
        404,
        {"error": "incident 'i9' does not exist; list the open incidents"},
    )
    assert got["holder"][0] == 403 and "'bob' does not hold" in got["holder"][1]["error"]
    assert got["state"][0] == 409 and got["state"][1]["state"] == "resolved"
    assert got["desk"] == (422, {"error": "team 'sales' does not exist"})
    assert got["send"] == (
        502,
        {"error": "sms: sending failed: the provider refused", "retryable": True},
    )
    # What the table does not list is a bug: 500, never a made-up refusal.
    assert got["bug"] == (500, None) and got["router"] == (500, None)


def test_table_lists_each_error_once_and_only_error_statuses() -> None:
    assert all(issubclass(cls, Exception) for cls in STATUS)
    assert set(STATUS.values()) <= {403, 404, 409, 412, 422, 502, 503}  # 412: If-Match
