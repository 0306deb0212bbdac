"""Who reads which contact, the heartbeat's ISO time and the metrics token (issue 15)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from queues import Channel
from router.app.factory import create_app
from router.config.load import parse_config
from router.http.context import CONTEXT
from router.outages.links import link
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT, Desk
from tests.router.http.test_api import queue_one
from tests.router.testchannel import TestChannel

STORE_BACKENDS = ["memory", "sqlite"]


@pytest.fixture
async def supervised(make_store, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Desk]:  # type: ignore[no-untyped-def]
    """The desk with tomek (technical) a supervisor, and a metrics token."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["agents"]["supervisors"] = ["tomek"]
    data["http"]["metrics_token"] = "${SCRAPE_TOKEN}"
    env = {**ENV, "SCRAPE_TOKEN": "scrape-0123456789"}
    config = parse_config(data, base_dir=tmp_path, env=env)
    store = await make_store(clock)
    channels = {ch: TestChannel(channel=ch) for ch in (Channel.SMS, Channel.CHAT)}
    app = create_app(
        config,
        store,
        clock=clock,
        outboxes=channels,
        adapters=lambda ctx: [],
        env=env,
        reaper=False,
    )
    async with TestClient(TestServer(app)) as client:
        for channel in channels.values():
            channel.inbox = client.app[CONTEXT].service
        yield Desk(client, channels, clock)


async def test_an_agent_reads_only_the_contacts_of_the_teams_they_serve(desk: Desk) -> None:
    billing = await queue_one(desk)  # "faktura": billing
    status, body = await desk.api("tomek", "GET", f"/api/contacts/{billing}")
    assert status == 403 and "team billing" in body["error"] and "technical" in body["error"]
    status, _ = await desk.api("ola", "GET", f"/api/contacts/{billing}")
    assert status == 200
    status, listed = await desk.api("tomek", "GET", "/api/contacts")
    assert status == 200 and billing not in [c["id"] for c in listed]
    status, body = await desk.api("tomek", "GET", "/api/contacts?team=billing")
    assert status == 403 and "not of team 'billing'" in body["error"]
    status, listed = await desk.api("ola", "GET", "/api/contacts?team=billing")
    assert [c["id"] for c in listed] == [billing]


async def test_a_transferred_contact_is_read_by_its_new_team(desk: Desk) -> None:
    billing = await queue_one(desk)
    status, _ = await desk.api("ola", "POST", "/api/claim", {})
    assert status == 200
    status, _ = await desk.api(
        "ola", "POST", f"/api/contacts/{billing}/transfer", {"team": "technical"}
    )
    assert status == 200
    status, _ = await desk.api("ola", "GET", f"/api/contacts/{billing}")
    assert status == 403  # no longer hers: on technical, waiting
    status, _ = await desk.api("tomek", "GET", f"/api/contacts/{billing}")
    assert status == 200


async def test_a_supervisor_reads_every_team(supervised: Desk) -> None:
    billing = await queue_one(supervised)
    status, view = await supervised.api("tomek", "GET", f"/api/contacts/{billing}")
    assert status == 200 and view["team"] == "billing"
    status, listed = await supervised.api("tomek", "GET", "/api/contacts?team=billing")
    assert [c["id"] for c in listed] == [billing]
    # Read only: claiming stays with the teams served.
    status, _ = await supervised.api("tomek", "POST", "/api/claim", {"teams": ["billing"]})
    assert status == 422


async def test_the_heartbeat_gives_lease_until_in_iso_8601(desk: Desk) -> None:
    cid = await queue_one(desk)
    await desk.api("ola", "POST", "/api/claim", {})
    status, beat = await desk.api("ola", "POST", f"/api/contacts/{cid}/heartbeat")
    assert status == 200 and isinstance(beat["lease_until"], str)
    _, contact = await desk.api("ola", "GET", f"/api/contacts/{cid}")
    assert beat["lease_until"] == contact["lease_until"]
    assert datetime.fromisoformat(beat["lease_until"]).timestamp() == pytest.approx(
        desk.clock() + 60
    )


async def test_metrics_need_the_configured_token(supervised: Desk) -> None:
    assert (await supervised.client.get("/metrics")).status == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await supervised.client.get("/metrics", headers=wrong)).status == 401
    right = {"Authorization": "Bearer scrape-0123456789"}
    response = await supervised.client.get("/metrics", headers=right)
    assert response.status == 200 and "switchboard_" in await response.text()


async def test_metrics_are_open_without_a_token(desk: Desk) -> None:
    assert (await desk.client.get("/metrics")).status == 200


# -- the same rule on every endpoint that shows a contact --------------------------------
CONTACT_PATHS = (
    ("GET", "/timeline", None),
    ("POST", "/notes", {"text": "Klient prosi o korektę"}),
    ("PUT", "/tags", {"tags": ["korekta"]}),
)


async def test_a_contact_of_another_team_is_refused_through_every_endpoint(desk: Desk) -> None:
    billing = await queue_one(desk)  # tomek serves technical only
    for method, tail, body in CONTACT_PATHS:
        status, refused = await desk.api("tomek", method, f"/api/contacts/{billing}{tail}", body)
        assert status == 403 and "team billing" in refused["error"], (tail, refused)
    status, refused = await desk.api("tomek", "GET", f"/api/canned?contact_id={billing}")
    assert status == 403 and "team billing" in refused["error"]
    status, refused = await desk.api("tomek", "GET", "/api/accounts/jan.kowalski/export")
    assert status == 403 and "agents.supervisors" in refused["error"]
    # Nothing was written by the refused requests.
    kept = await desk.ctx.store.get_contact(billing, messages=False)
    assert "notes" not in kept.meta and "tags" not in kept.meta


async def test_a_supervisor_reads_another_team_through_every_endpoint(supervised: Desk) -> None:
    billing = await queue_one(supervised)
    for method, tail, body in CONTACT_PATHS:
        path = f"/api/contacts/{billing}{tail}"
        status, _ = await supervised.api("tomek", method, path, body)
        assert status in (200, 201), tail
    status, replies = await supervised.api("tomek", "GET", f"/api/canned?contact_id={billing}")
    assert status == 200 and replies
    status, document = await supervised.api("tomek", "GET", "/api/accounts/jan.kowalski/export")
    assert status == 200 and billing in str(document)


async def linked_billing_contact(desk: Desk) -> str:
    """An incident on technical with jan's billing contact linked to it (as a topic links
    a contact whatever its team); the incident's id."""
    billing = await queue_one(desk)
    status, opened = await desk.api(
        "ania", "POST", "/api/incidents", {"team": "technical", "text": "Awaria"}
    )
    assert status == 201
    incident = (await desk.ctx.service.incidents.load()).get(opened["id"])
    contact = await desk.ctx.store.get_contact(billing, messages=False)
    await link(desk.ctx.store, incident, contact, at=desk.clock())
    return str(opened["id"])


async def test_compensation_lists_only_the_accounts_of_contacts_the_agent_reads(
    desk: Desk,
) -> None:
    incident = await linked_billing_contact(desk)
    path = f"/api/incidents/{incident}/compensation"
    status, report = await desk.api("tomek", "GET", path)
    assert status == 200 and report["accounts"] == [] and report["unreadable_contacts"] == 1
    status, report = await desk.api("ola", "GET", path)  # billing: hers
    assert [row["login"] for row in report["accounts"]] == ["jan.kowalski"]
    assert report["unreadable_contacts"] == 0
    # An account the operator names is computed whoever asks: it shows no contact.
    status, report = await desk.api("tomek", "GET", path + "?accounts=jan.kowalski")
    (row,) = report["accounts"]
    assert row["sources"] == ["operator"] and row["contacts"] == []


async def test_a_supervisor_gets_the_whole_compensation_report(supervised: Desk) -> None:
    incident = await linked_billing_contact(supervised)
    path = f"/api/incidents/{incident}/compensation"
    status, report = await supervised.api("tomek", "GET", path)
    assert status == 200 and [row["login"] for row in report["accounts"]] == ["jan.kowalski"]
    assert report["unreadable_contacts"] == 0
