"""Callbacks keeping the place across two `switchboard run` processes on one Redis (and a
Redis Cluster): a caller books a callback through router A; an agent's claim through router
B dials it; the answer and the end of the call come to the public URL both share (A's here,
as behind a load balancer), and the simulated customer is put through to the agent.

Twilio's REST API is the IVR simulator's stand-in, served on the test's own loop at a port
both routers are configured with; it rings the simulated customer's phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import yaml

from channels.twilio import sign
from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Call, CallSpec, Outcome
from ivr.simulator.callback import answer
from ivr.simulator.keys import ScriptKeys, parse_press
from tests.channels.twilio.sms_support import ACCOUNT_SID, AUTH_TOKEN
from tests.multiprocess.support import Router, Services, started, write_config
from tests.redis_server import free_port, redis_cluster, redis_server

BACKENDS = ["redis", "cluster"]
CALLER = "+48500100777"
TOMEK_PHONE = "+48500999888"  # given to the demo agent tomek in this suite's config


@dataclass
class Routers:
    a: Router
    b: Router
    api_port: int


def callback_config(path: Path, *, public_url: str, api_base_url: str) -> None:
    """This suite's config (teams open round the clock), with the Twilio API stand-in,
    one public URL for both routers, a lease long enough for a call, and tomek's phone to
    be dialled when he takes a call."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["http"]["public_url"] = public_url
    data["channels"]["twilio"]["api_base_url"] = api_base_url
    data["queues"]["lease_s"] = 60
    for agent in data["agents"]["demo"]:
        if agent["name"] == "tomek":
            agent["phone"] = TOMEK_PHONE
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module", params=BACKENDS)
def routers(
    request: pytest.FixtureRequest, services: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Routers]:
    backend = str(request.param)
    workdir = tmp_path_factory.mktemp(f"callback-{backend}")
    api_port = free_port()
    with ExitStack() as stack:
        if backend == "cluster":
            url = stack.enter_context(redis_cluster(workdir / "redis"))
        else:
            url = stack.enter_context(redis_server(workdir / "redis"))
        config = write_config(
            workdir / "config.yaml",
            data_dir=workdir / "var",
            telegram_url=services.telegram.base_url,
            relay_port=services.relay_port,
        )
        logs = workdir / "logs"
        a, b = Router("a", config, url, logs), Router("b", config, url, logs)
        callback_config(config, public_url=a.url, api_base_url=f"http://127.0.0.1:{api_port}")
        stack.enter_context(started([a, b]))
        yield Routers(a, b, api_port)


async def api_call(
    session: aiohttp.ClientSession, router: Router, agent: str, method: str, path: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {router.tokens[agent]}"}
    body = {"teams": ["technical"]} if path == "/api/claim" else None
    async with session.request(method, router.url + path, json=body, headers=headers) as got:
        data = await got.json() if got.content_type == "application/json" else None
        return got.status, data


async def test_a_claim_through_b_calls_back_a_caller_who_booked_through_a(
    routers: Routers,
) -> None:
    a, b = routers.a, routers.b
    api = TwilioApi(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sign=partial(sign, AUTH_TOKEN))
    await api.start(port=routers.api_port)
    signer = partial(sign, AUTH_TOKEN)
    try:
        api.phone(CALLER)  # the customer's phone, listening for the call back
        spec = CallSpec(url=a.url, from_number=CALLER, signed_base=a.url, speed=50, max_hold_s=600)
        keys = ScriptKeys(parse_press("2 1001# 482913# 2 1 #"))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            booked = await Call(session, spec, keys, sign=signer, api=api).run()
            assert booked.outcome is Outcome.ENDED, booked.error

            path = f"/api/contacts?channel=voice&address={quote(CALLER, safe='')}"
            status, found = await api_call(session, b, "tomek", "GET", path)
            assert status == 200 and found and found[0]["state"] == "waiting", found
            contact_id = found[0]["id"]
            status, view = await api_call(session, b, "tomek", "GET", f"/api/contacts/{contact_id}")
            assert view["callback"]["state"] == "booked", view  # booked in A, read in B

            status, claimed = await api_call(session, b, "tomek", "POST", "/api/claim")
            assert status == 200 and claimed["id"] == contact_id, claimed
            placed = await api.ringing(CALLER, timeout_s=15)  # B dials
            assert placed is not None and placed.url.startswith(a.url)
            back = await answer(session, placed, spec, ScriptKeys(()), sign=signer, api=api)
            assert back.outcome is Outcome.CONNECTED and back.agent == TOMEK_PHONE, back.error

            status, view = await api_call(session, a, "tomek", "GET", f"/api/contacts/{contact_id}")
            shown = view["callback"]
            assert (shown["state"], shown["attempts"], shown["agent"]) == ("connected", 1, "tomek")
            assert len(api.placed) == 1  # one call, though both processes run a dialer
    finally:
        await api.aclose()
    # The logs say which process did what: B dialled, A put the customer through.
    assert "callback_dialed" in b.stderr.read_text(encoding="utf-8")
    assert "callback_dialed" not in a.stderr.read_text(encoding="utf-8")
    assert "callback_connecting" in a.stderr.read_text(encoding="utf-8")
