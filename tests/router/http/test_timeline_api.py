"""A customer's timeline over HTTP on every store backend: contacts by account, earlier
contacts from the address joining once verified, agents' notes and tags, and refusals."""

from __future__ import annotations

from typing import Any

from queues import Channel, ContactState
from router.contacts import AddressJoin
from tests.router.conftest import Desk

JAN = ("jan.kowalski", "482913")
ANNA = ("anna.dluzna", "115577")
PHONE = "+48500100200"


async def verified(
    desk: Desk, address: str, first: str, who: tuple[str, str] = JAN, channel: Channel = Channel.SMS
) -> str:
    """A customer writes ``first`` and verifies as ``who``; the contact id."""
    text = desk.channels[channel]
    await text.say(address, first)
    answer = await text.say(address, f"{who[0]} {who[1]}")
    contact = await desk.ctx.store.get_contact(answer.contact.id, messages=False)
    assert contact.verified and contact.state is ContactState.WAITING
    return contact.id


async def unverified(desk: Desk, address: str, first: str) -> str:
    """A customer writes ``first`` and fails verification three times: queued unverified
    (a quarter of an hour later than the failures before: no lockout)."""
    desk.clock.advance(16 * 60)
    sms = desk.channels[Channel.SMS]
    await sms.say(address, first)
    for _ in range(3):
        answer = await sms.say(address, "nikt.taki 000000")
    assert answer.contact.state is ContactState.WAITING and not answer.contact.verified
    return answer.contact.id


async def handled(desk: Desk, contact_id: str, disposition: str = "solved") -> None:
    """``ania`` claims the contact and resolves it; the clock moves on a minute."""
    status, body = await desk.api("ania", "POST", "/api/claim", {})
    assert status == 200 and body["id"] == contact_id
    path = f"/api/contacts/{contact_id}/resolve"
    status, _ = await desk.api("ania", "POST", path, {"disposition": disposition})
    assert status == 200
    desk.clock.advance(60)


async def timeline(desk: Desk, contact_id: str, agent: str = "ania") -> dict[str, Any]:
    status, body = await desk.api(agent, "GET", f"/api/contacts/{contact_id}/timeline")
    assert status == 200, body
    return dict(body)


async def test_a_verified_customer_sees_their_other_contacts_on_every_channel(
    desk: Desk,
) -> None:
    first = await verified(desk, PHONE, "Faktura za październik jest za wysoka")
    await handled(desk, first, "escalated")
    chat = await verified(desk, "chat-session-1", "Internet nie działa", channel=Channel.CHAT)
    await handled(desk, chat)
    await verified(desk, "+48600000003", "Mam pytanie o fakturę", who=ANNA)
    now = await verified(desk, PHONE, "Nadal nie działa internet")

    found = await timeline(desk, now)
    assert found["account"] == "jan.kowalski" and found["more"] is False
    assert [(c["id"], c["channel"], c["disposition"]) for c in found["contacts"]] == [
        (chat, "chat", "solved"),
        (first, "sms", "escalated"),
    ]
    (latest, earliest) = found["contacts"]
    assert earliest["team"] == "billing" and latest["team"] == "technical"
    assert earliest["agent"] == "ania" and earliest["state"] == "resolved"
    assert earliest["created_at"] < latest["created_at"] and earliest["closed_at"]
    assert earliest["verified"] is True and earliest["joined_by"] is None

    # The list filters by account now (it used to ignore the parameter).
    status, listed = await desk.api("ania", "GET", "/api/contacts?account=jan.kowalski")
    assert status == 200 and [c["id"] for c in listed] == [now, chat, first]
    status, listed = await desk.api(
        "ania", "GET", "/api/contacts?account=jan.kowalski&channel=chat"
    )
    assert [c["id"] for c in listed] == [chat]
    status, listed = await desk.api("ania", "GET", "/api/contacts?account=nobody")
    assert status == 200 and listed == []


async def test_earlier_unverified_contacts_from_the_address_join_once_verified(
    desk: Desk,
) -> None:
    before_anna = await unverified(desk, PHONE, "Internet nie działa od rana")
    await handled(desk, before_anna)
    anna = await verified(desk, PHONE, "Faktura", who=ANNA)  # the number was Anna's then
    await handled(desk, anna)
    after_anna = await unverified(desk, PHONE, "Znowu nie działa internet")
    await handled(desk, after_anna, "no_answer")
    other_channel = await unverified(desk, "+48500999999", "Inny numer, internet nie działa")
    await handled(desk, other_channel)
    still_open = await unverified(desk, PHONE, "A teraz internet?")  # waiting: does not join

    # Verified from the same number: only the finished unverified contact since Anna's joins.
    await desk.channels[Channel.SMS].say(PHONE, "pomocy")  # joins the waiting conversation
    # Another number: nothing joins.
    jan = await verified(desk, "+48500100201", "Nowa sprawa: internet nie działa")
    assert [c["id"] for c in (await timeline(desk, jan))["contacts"]] == []

    status, _ = await desk.api("ania", "POST", "/api/claim", {})
    assert status == 200
    status, _ = await desk.api("ania", "POST", f"/api/contacts/{still_open}/resolve", {})
    desk.clock.advance(60)
    now = await verified(desk, PHONE, "Czy internet już naprawiony?")
    found = await timeline(desk, now)
    joined = {c["id"]: c for c in found["contacts"]}
    assert set(joined) == {jan, after_anna, still_open}
    assert joined[after_anna]["verified"] is False and joined[after_anna]["joined_by"] == now
    assert joined[after_anna]["disposition"] == "no_answer"
    # Anna's contact, and what came before it, stay out; so does the other number's.
    assert before_anna not in joined and anna not in joined and other_channel not in joined
    contact = (await desk.api("ania", "GET", f"/api/contacts/{after_anna}"))[1]
    assert contact["account"] == "jan.kowalski" and contact["verify_method"] == f"joined:{now}"
    kinds = [e.kind for e in await desk.ctx.store.events(after_anna)]
    assert "contact_joined" in kinds
    # Joining again (another verification from the number) finds nothing left to join.
    verifying = await desk.ctx.store.get_contact(now, messages=False)
    assert await AddressJoin(desk.ctx.store, clock=desk.clock)(verifying, "jan.kowalski") == []
    assert kinds.count("contact_joined") == 1


async def test_an_unverified_contact_has_no_timeline(desk: Desk) -> None:
    first = await verified(desk, PHONE, "Faktura")
    await handled(desk, first)
    stranger = await unverified(desk, "+48700000000", "Jestem Jan Kowalski, internet nie działa")
    found = await timeline(desk, stranger)
    assert found["account"] is None and found["contacts"] == [] and found["notes"] == []


async def test_notes_and_tags_are_kept_on_the_contact_and_shown_in_the_timeline(
    desk: Desk,
) -> None:
    first = await verified(desk, PHONE, "Faktura za wysoka")
    status, body = await desk.api(
        "ola", "POST", f"/api/contacts/{first}/notes", {"text": "  Obiecałam korektę do piątku "}
    )
    assert status == 201
    note = body["note"]
    assert note["text"] == "Obiecałam korektę do piątku" and note["agent"] == "ola"
    assert note["id"] and note["at"].endswith("Z")
    await desk.api("ania", "POST", f"/api/contacts/{first}/notes", {"text": "Korekta wysłana"})
    status, body = await desk.api(
        "ania", "PUT", f"/api/contacts/{first}/tags", {"tags": ["Korekta", "vip", "korekta"]}
    )
    assert status == 200 and body["tags"] == ["korekta", "vip"]
    await handled(desk, first)

    contact = (await desk.api("ania", "GET", f"/api/contacts/{first}"))[1]
    assert [n["text"] for n in contact["meta"]["notes"]] == [
        "Obiecałam korektę do piątku",
        "Korekta wysłana",
    ]
    assert contact["meta"]["tags"] == ["korekta", "vip"]
    own = await timeline(desk, first)
    assert own["tags"] == ["korekta", "vip"] and len(own["notes"]) == 2

    now = await verified(desk, PHONE, "Gdzie moja korekta faktury?")
    (earlier,) = (await timeline(desk, now))["contacts"]
    assert [(n["agent"], n["text"]) for n in earlier["notes"]] == [
        ("ola", "Obiecałam korektę do piątku"),
        ("ania", "Korekta wysłana"),
    ]
    assert earlier["tags"] == ["korekta", "vip"]
    status, body = await desk.api("ania", "PUT", f"/api/contacts/{first}/tags", {"tags": []})
    assert status == 200 and body["tags"] == []
    assert "tags" not in (await desk.api("ania", "GET", f"/api/contacts/{first}"))[1]["meta"]


async def test_bad_notes_tags_and_readers_are_refused(desk: Desk) -> None:
    billing = await verified(desk, PHONE, "Faktura za wysoka")
    path = f"/api/contacts/{billing}"
    cases = [
        ("POST", "/notes", {"text": "   "}, 422),
        ("POST", "/notes", {"text": "x" * 2001}, 422),
        ("POST", "/notes", {"note": "x"}, 422),
        ("PUT", "/tags", {"tags": ["two words"]}, 422),
        ("PUT", "/tags", {"tags": [f"t{n}" for n in range(21)]}, 422),
        ("PUT", "/tags", {"tags": "vip"}, 422),
    ]
    for method, tail, body, expected in cases:
        status, answer = await desk.api("ania", method, path + tail, body)
        assert status == expected, (tail, body, answer)
        assert answer["error"]
    resp = await desk.client.post(path + "/notes", data=b"{not json", headers=desk.auth("ania"))
    assert resp.status == 400
    # tomek serves technical only: a billing contact is not his to read or annotate.
    for method, tail, body in [("GET", "/timeline", None), ("POST", "/notes", {"text": "x"})]:
        status, answer = await desk.api("tomek", method, path + tail, body)
        assert status == 403 and "technical" in answer["error"]
    status, _ = await desk.api("ania", "GET", "/api/contacts/nosuchcontact000000/timeline")
    assert status == 404
    status, _ = await desk.api("ania", "GET", path + "/timeline?limit=0")
    assert status == 400
    resp = await desk.client.get(path + "/timeline")
    assert resp.status == 401
    assert (await desk.api("ania", "GET", path))[1]["meta"].get("notes") is None
