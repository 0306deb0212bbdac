"""A customer's export and erase through the API on every backend: supervisors only, every
contact and message of the account, the erase leaving neither the digits nor the words in a
dump of the store while the KPIs read the same, and both in the audit log."""

from __future__ import annotations

from typing import Any

from queues import Channel, new_id
from tests.queues.test_contract_erase import dump
from tests.router.complaints.support import complaint
from tests.router.conftest import Desk

STORE_BACKENDS = ["memory", "sqlite", "redis"]

PHONE = "+48500100200"
WORDS = "router miga na czerwono od wczoraj"


async def jan_by_sms(desk: Desk, address: str = PHONE) -> str:
    """A verified SMS contact of jan.kowalski, queued (keyed like Twilio's message ids:
    the test channel's own keys would name the address)."""
    sms = desk.channels[Channel.SMS]
    await sms.say(address, WORDS, key=f"sms:SM{new_id()}")
    answer = await sms.say(address, "jan.kowalski 482913", key=f"sms:SM{new_id()}")
    return answer.contact.id


async def served(desk: Desk, contact_id: str) -> None:
    status, claimed = await desk.api("ania", "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == contact_id
    status, _ = await desk.api(
        "ania", "POST", f"/api/contacts/{contact_id}/reply", {"text": f"Oddzwonię na {PHONE}"}
    )
    assert status == 200
    desk.clock.advance(120)
    status, _ = await desk.api("ania", "POST", f"/api/contacts/{contact_id}/resolve", {})
    assert status == 200


async def test_only_supervisors_export_or_erase(desk: Desk) -> None:
    await jan_by_sms(desk)
    assert desk.ctx.config.agents.supervisors == ("ania",)
    for method, path, body in (
        ("GET", "/api/accounts/jan.kowalski/export", None),
        ("POST", "/api/accounts/jan.kowalski/erase", {"confirm": "jan.kowalski"}),
        ("GET", "/api/privacy/audit", None),
    ):
        status, refused = await desk.api("tomek", method, path, body)
        assert status == 403 and "agents.supervisors" in refused["error"]
        resp = await desk.client.request(method, path, json=body)
        assert resp.status == 401
    status, body = await desk.api("ania", "GET", "/api/accounts/Bad%20Login!/export")
    assert status == 400 and "not a login" in body["error"]
    status, body = await desk.api("ania", "GET", "/api/accounts/nobody.here/export")
    assert status == 404 and "nobody.here" in body["error"]


async def test_export_has_every_contact_of_the_account_and_nobody_else(desk: Desk) -> None:
    sms = await jan_by_sms(desk)
    await jan_by_sms(desk, "+48600000009")  # another number, the same account
    other = desk.channels[Channel.SMS]
    await other.say("+48700000001", "faktura")
    await other.say("+48700000001", "firma.nowak 739155")
    resp = await desk.client.post("/api/complaints", json=complaint())
    assert resp.status == 201
    resp = await desk.client.get("/api/accounts/jan.kowalski/export", headers=desk.auth("ania"))
    assert resp.status == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    exported = await resp.json()
    assert exported["login"] == "jan.kowalski"
    assert exported["account"]["number"] == "1001" and "code_hmac" not in exported["account"]
    contacts = exported["contacts"]
    assert [c["channel"] for c in contacts] == ["sms", "sms", "form"]
    assert contacts[0]["id"] == sms and contacts[0]["messages"][0]["text"] == WORDS
    assert "482913" not in str(exported)  # auth codes are never kept
    assert any(e["kind"] == "contact_enqueued" for e in contacts[0]["events"])
    status, audit = await desk.api("ania", "GET", "/api/privacy/audit")
    assert status == 200
    assert [(a["kind"], a["agent"], a["data"]["contacts"]) for a in audit] == [
        ("privacy_export", "ania", 3)
    ]


async def test_erase_refuses_open_contacts_and_a_missing_confirmation(desk: Desk) -> None:
    contact_id = await jan_by_sms(desk)
    path = "/api/accounts/jan.kowalski/erase"
    status, body = await desk.api("ania", "POST", path, {"confirm": "someone.else"})
    assert status == 422 and "confirm" in body["error"]
    status, body = await desk.api("ania", "POST", path, {})
    assert status == 422
    status, body = await desk.api("ania", "POST", path, {"confirm": "jan.kowalski"})
    assert status == 409 and body["open"] == [contact_id]
    assert (await desk.ctx.store.get_contact(contact_id)).messages[0].text == WORDS


async def kpis(desk: Desk) -> Any:
    status, stats = await desk.api("ania", "GET", "/api/stats")
    assert status == 200
    return stats


async def test_erase_leaves_nothing_of_the_customer_and_the_kpis_as_they_were(
    desk: Desk,
) -> None:
    first = await jan_by_sms(desk)
    await served(desk, first)
    other = desk.channels[Channel.SMS]
    await other.say("+48700000001", "faktura za hosting")
    await other.say("+48700000001", "firma.nowak 739155")
    before = await kpis(desk)
    seen = await dump(desk.ctx.store)
    assert PHONE[3:].encode() in seen and WORDS.encode() in seen

    status, erased = await desk.api(
        "ania", "POST", "/api/accounts/jan.kowalski/erase", {"confirm": "jan.kowalski"}
    )
    assert status == 200, erased
    assert erased["login"] == "jan.kowalski" and erased["contacts"] == 1
    assert erased["messages"] >= 4  # the first message, the credentials, prompts, the reply

    left = await dump(desk.ctx.store)
    assert PHONE[3:].encode() not in left and WORDS.encode() not in left
    assert b"czerwono" not in left
    assert await kpis(desk) == before
    status, contact = await desk.api("ania", "GET", f"/api/contacts/{first}")
    assert status == 200
    assert contact["address"].startswith("erased:") and contact["account"] == "jan.kowalski"
    assert {m["text"] for m in contact["messages"]} == {"[erased]"}
    assert contact["state"] == "resolved" and contact["disposition"] == "solved"
    # The other customer is untouched.
    [nowak] = await desk.ctx.store.list_contacts(address="+48700000001")
    assert (await desk.ctx.store.get_contact(nowak.id)).messages[0].text == "faktura za hosting"
    status, audit = await desk.api("ania", "GET", "/api/privacy/audit")
    assert [a["kind"] for a in audit] == ["privacy_erase"]
    assert audit[0]["data"] == {
        "account": "jan.kowalski",
        "by": "ania",
        "via": "api",
        "contacts": 1,
        "messages": erased["messages"],
    }
    kinds = [e.kind for e in await desk.ctx.store.events(first)]
    assert kinds.count("contact_erased") == 1
