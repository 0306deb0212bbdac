"""Written complaints through the public API (``POST /api/complaints``) on every backend:
acknowledged at once with a number and the due date, stored as a ``form`` contact routed as
a complaint, refused with reasons, rate limited per client address."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from queues import Channel
from router.http.complaints_api import COMPLAINTS
from tests.router.conftest import Desk
from tests.router.testchannel import TestChannel

STORE_BACKENDS = ["memory", "sqlite", "redis"]

#: The desk's clock starts on Wednesday 2026-11-18, 12:06:40 in Warsaw: 14 business days
#: later (no Polish holiday between) is Tuesday 2026-12-08, same time.
DUE_AT = "2026-12-08T11:06:40.000000Z"


@pytest.fixture(autouse=True)
def mail(desk: Desk) -> TestChannel:
    """Where the acknowledgements go (the real email channel: test_complaint_mail.py)."""
    outbox = TestChannel(channel=Channel.EMAIL)
    desk.ctx.courier.senders[Channel.EMAIL] = outbox
    return outbox


def complaint(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": "Jan Kowalski",
        "contract_number": "1001",
        "phone": "+48 500 100 200",
        "email": "jan@example.net",
        "what_happened": "Od 10 listopada internet zrywa co godzinę, a technik nie przyszedł.",
        "date_from": "2026-11-10",
        "date_to": "2026-11-17",
        "specialist": "Pan Tomek",
        "answer_by": "email",
        "topic": "technical",
        "language": "pl",
        "confirm": True,
    }
    body.update(changes)
    return body


async def post(desk: Desk, body: Any, **headers: str) -> tuple[int, Any]:
    resp = await desk.client.post("/api/complaints", json=body, headers=headers)
    return resp.status, await resp.json()


async def test_a_complaint_is_acknowledged_with_a_number_and_the_due_date(
    desk: Desk, mail: TestChannel
) -> None:
    status, receipt = await post(desk, complaint())
    assert status == 201
    assert receipt == {
        "number": "2026/00001",
        "due_at": DUE_AT,
        "due_date": "2026-12-08",
        "acknowledged_by": "email",
    }
    status, second = await post(
        desk, complaint(full_name="Anna Nowak", email=None, answer_by="phone")
    )
    assert status == 201 and second["number"] == "2026/00002"
    assert second["acknowledged_by"] is None
    assert await desk.ctx.courier.join()
    [ack] = mail.sent  # none for the second: no email given
    assert ack.address == "jan@example.net" and ack.auto
    assert ack.meta["email"] == {"subject": "Reklamacja nr 2026/00001"}
    assert "reklamację nr 2026/00001 z dnia 2026-11-18" in ack.text
    assert "Odpowiemy najpóźniej 2026-12-08 (e-mailem)" in ack.text
    assert "technik nie przyszedł" in ack.text


async def test_it_waits_as_a_form_contact_routed_as_a_complaint(desk: Desk) -> None:
    await post(desk, complaint())
    status, contact = await desk.api("tomek", "POST", "/api/claim", {})
    assert status == 200
    assert contact["channel"] == "form" and contact["team"] == "technical"
    assert contact["address"] == "jan@example.net"
    assert contact["sla_due"] == DUE_AT
    # Priority rules for a complaint on the form channel (shipped: form 0, complaint 0).
    rules = desk.ctx.routing.priority
    assert contact["priority"] == rules.priority_delay("form", tier="residential", complaint=True)
    assert contact["subject"] == "Reklamacja nr 2026/00001"
    meta = contact["meta"]
    assert meta["complaint"] is True and meta["complaint_no"] == "2026/00001"
    assert meta["form"]["phone"] == "+48500100200" and meta["form"]["answer_by"] == "email"
    first = contact["messages"][0]
    assert first["direction"] == "in"
    for line in (
        "Imię i nazwisko: Jan Kowalski",
        "Numer umowy: 1001",
        "Data lub okres zdarzenia: 2026-11-10 – 2026-11-17",
        "Konsultant, który prowadził sprawę: Pan Tomek",
        "Preferowana forma odpowiedzi: e-mailem",
        "Dotyczy: Wsparcie techniczne",
        "technik nie przyszedł",
    ):
        assert line in first["text"]
    # The holder's number and name match the account: the complaint joins its timeline.
    assert contact["account"] == "jan.kowalski" and contact["verified"] is False


async def test_the_account_is_joined_only_when_number_and_name_match(desk: Desk) -> None:
    await post(desk, complaint(full_name="JAN  KOWALSKI"))
    await post(desk, complaint(full_name="Piotr Kowalski"))
    await post(desk, complaint(contract_number="9999"))
    accounts = []
    for _ in range(3):
        _, contact = await desk.api("ania", "POST", "/api/claim", {})
        accounts.append(contact["account"])
    assert accounts == ["jan.kowalski", None, None]


async def test_the_team_comes_from_the_text_when_none_is_picked(desk: Desk) -> None:
    text = "Faktura za listopad jest zawyżona o 50 zł, proszę o korektę."
    await post(desk, complaint(topic=None, what_happened=text))
    await post(desk, complaint(topic="", what_happened="Coś jest nie tak od tygodnia, proszę."))
    status, contact = await desk.api("ola", "POST", "/api/claim", {"teams": ["billing"]})
    assert status == 200 and contact["team"] == "billing"
    status, contact = await desk.api("tomek", "POST", "/api/claim", {})
    assert status == 200 and contact["team"] == "technical"  # the default team


async def test_a_resubmitted_form_stores_one_complaint(desk: Desk) -> None:
    body = complaint(request_id="a1b2c3d4-0000-4000-8000-000000000001")
    results = await asyncio.gather(*(post(desk, body) for _ in range(5)))
    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    assert {receipt["number"] for _, receipt in results} == {"2026/00001"}
    contacts = await desk.ctx.store.list_contacts(channel="form")
    assert len(contacts) == 1
    assert (await desk.ctx.store.queue_stats(["technical"]))[0].waiting == 1
    # The acknowledgement is posted once and recorded once.
    stored = await desk.ctx.store.get_contact(contacts[0].id)
    assert sum(1 for m in stored.messages if m.meta.get("complaint_ack")) == 1


async def test_what_is_wrong_is_said_field_by_field(desk: Desk) -> None:
    status, body = await post(desk, {"full_name": "J"})
    assert status == 422
    assert set(body["fields"]) >= {"full_name", "contract_number", "phone", "date_from"}
    cases = [
        (complaint(email=None), "email", "needs an email"),
        (complaint(answer_by="letter"), "postal_address", "postal address"),
        (complaint(confirm=False), "confirm", "confirm"),
        (complaint(phone="call me"), "phone", "pattern"),
        (complaint(email="not-an-address"), "email", "pattern"),
        (complaint(date_to="2026-11-01"), "date_to", "ends before"),
        (complaint(date_from="2026-12-01", date_to=None), "date_from", "future"),
        (complaint(topic="sales"), "topic", "not one of"),
        (complaint(language="de"), "language", "not one of"),
        (complaint(answer_by="fax"), "answer_by", "letter"),
        (complaint(what_happened="x" * 5001), "what_happened", "at most 5000"),
        (complaint(extra="field"), "extra", "not permitted"),
    ]
    for sent, field, reason in cases:
        status, body = await post(desk, sent)
        assert status == 422, (field, body)
        assert reason in body["fields"][field], (field, body)
    resp = await desk.client.post("/api/complaints", data=b"{not json")
    assert resp.status == 400 and "not JSON" in (await resp.json())["error"]
    assert await desk.ctx.store.list_contacts(channel="form") == []


async def test_one_address_may_send_a_few_an_hour(desk: Desk) -> None:
    for n in range(5):
        status, _ = await post(desk, complaint(full_name=f"Klient {n}"))
        assert status == 201
    status, body = await post(desk, complaint())
    assert status == 429 and "too many" in body["error"]
    resp = await desk.client.post("/api/complaints", json=complaint())
    assert 1 <= int(resp.headers["Retry-After"]) <= 3600
    desk.clock.advance(3601)
    status, _ = await post(desk, complaint())
    assert status == 201


async def test_the_form_describes_the_teams_and_answers(desk: Desk) -> None:
    resp = await desk.client.get("/api/complaints/form")
    form = await resp.json()
    assert [t["id"] for t in form["teams"]] == ["billing", "technical", "domains_hosting"]
    assert form["teams"][0]["names"]["he"] == "חשבונות"
    assert form["answer_by"] == ["letter", "email", "phone"]
    assert form["due_business_days"] == 14 and form["max_text_chars"] == 5000


async def test_the_page_and_its_assets_are_served_with_a_strict_policy(desk: Desk) -> None:
    resp = await desk.client.get("/complaint")
    assert resp.status == 200 and resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert 'id="complaint-form"' in await resp.text()
    for name, kind in (("complaint.js", "text/javascript"), ("complaint.css", "text/css")):
        resp = await desk.client.get(f"/complaint/{name}")
        assert resp.status == 200 and resp.content_type == kind
    assert (await desk.client.get("/complaint/other.js")).status == 404


async def test_the_courier_has_a_sender_for_form_contacts(desk: Desk) -> None:
    assert Channel.FORM in desk.ctx.courier.senders
    assert desk.client.app[COMPLAINTS] is not None
