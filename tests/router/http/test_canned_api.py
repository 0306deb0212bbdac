"""Canned replies over HTTP on every store backend: the config's seeded once, listed per team
and language, filled for a contact, managed with compare-and-set, and refused when bad."""

from __future__ import annotations

from typing import Any

from queues import Channel
from router.desk import CannedReplies
from tests.router.conftest import Desk

SHIPPED = 7 * 4  # seven replies in config.yaml, each in pl, en, ru, he


async def customer(desk: Desk, first: str, language: str = "en") -> str:
    """A verified SMS customer queued with ``first``, in ``language``; the contact id."""
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500100200", first, language=language)
    answer = await sms.say("+48500100200", "jan.kowalski 482913", language=language)
    return answer.contact.id


async def make(desk: Desk, agent: str, body: dict[str, Any]) -> tuple[int, Any, str]:
    resp = await desk.client.post("/api/canned", json=body, headers=desk.auth(agent))
    return resp.status, await resp.json(), resp.headers.get("ETag", "")


async def test_the_shipped_replies_are_listed_by_team_language_and_search(desk: Desk) -> None:
    status, every = await desk.api("tomek", "GET", "/api/canned")
    assert status == 200 and len(every) == SHIPPED
    assert {r["source"] for r in every} == {"config"}
    greeting = next(r for r in every if r["id"] == "greeting.en")
    assert greeting["team"] is None and greeting["language"] == "en"
    assert greeting["placeholders"] == ["name"] and greeting["title"] == "Greeting"

    _, billing = await desk.api("tomek", "GET", "/api/canned?team=billing&language=en")
    assert sorted(r["id"] for r in billing) == [
        "answer_by.en",
        "checking.en",
        "greeting.en",
        "invoice_copy.en",
        "reference.en",
    ]
    _, found = await desk.api("tomek", "GET", "/api/canned?language=pl&q=rout")
    assert [r["id"] for r in found] == ["restart_router.pl"]
    _, found = await desk.api("tomek", "GET", "/api/canned?language=ru&q=dns 24")
    assert [r["id"] for r in found] == ["dns_propagation.ru"]


async def test_replies_for_a_contact_are_filled_for_it(desk: Desk) -> None:
    cid = await customer(desk, "My invoice is wrong")
    status, replies = await desk.api("ania", "GET", f"/api/canned?contact_id={cid}")
    assert status == 200
    by_id = {r["id"]: r for r in replies}
    assert set(by_id) == {
        "greeting.en",
        "checking.en",
        "reference.en",
        "answer_by.en",
        "invoice_copy.en",
    }  # billing's and every team's, in English
    assert by_id["greeting.en"]["filled"] == (
        "Good afternoon Jan Kowalski, this is customer support. How can I help?"
    )
    assert by_id["reference.en"]["filled"].startswith(f"Your case number is {cid};")
    contact = (await desk.api("ania", "GET", f"/api/contacts/{cid}"))[1]
    assert contact["sla_due"] == "2026-11-18T12:06:40.000000Z"  # answered within the hour
    assert by_id["answer_by.en"]["filled"] == (
        "We will get back to you by 2026-11-18 13:06 at the latest."  # in Warsaw
    )
    assert by_id["greeting.en"]["unfilled"] == []

    status, made, _ = await make(
        desk,
        "ania",
        {
            "title": "Place",
            "team": "billing",
            "language": "en",
            "text": "You are number {position}; case {contact_id}.",
        },
    )
    assert status == 201
    _, one = await desk.api("ania", "GET", f"/api/canned/{made['id']}?contact_id={cid}")
    assert one["filled"] == f"You are number 1; case {cid}." and one["unfilled"] == []
    _, found = await desk.api("ania", "GET", f"/api/canned?contact_id={cid}&q=plac")
    assert [r["id"] for r in found] == [made["id"]]
    status, body = await desk.api("tomek", "GET", f"/api/canned?contact_id={cid}")
    assert status == 403 and "technical" in body["error"]


async def test_what_is_not_known_is_left_for_the_agent(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48500999999", "Internet nie działa")
    for _ in range(3):
        answer = await sms.say("+48500999999", "nikt.taki 000000")  # never verified
    cid = answer.contact.id
    _, reply = await desk.api("ania", "GET", f"/api/canned/greeting.pl?contact_id={cid}")
    assert reply["unfilled"] == ["name"]
    assert reply["filled"] == (
        "Dzień dobry {name}, z tej strony dział obsługi klienta. W czym mogę pomóc?"
    )


async def test_sla_due_is_filled_in_local_time(desk: Desk) -> None:
    telegram = desk.channels[Channel.TELEGRAM]
    await telegram.say("tg-1", "Internet nie działa")
    answer = await telegram.say("tg-1", "jan.kowalski 482913")
    cid = answer.contact.id
    _, reply = await desk.api("ania", "GET", f"/api/canned/answer_by.pl?contact_id={cid}")
    contact = (await desk.api("ania", "GET", f"/api/contacts/{cid}"))[1]
    assert contact["sla_due"] is not None and reply["unfilled"] == []
    # The fake clock starts on Wednesday 2026-11-18 12:06:40 in Warsaw: due a business day on.
    assert reply["filled"] == "Odpowiemy najpóźniej do 2026-11-19 12:06."


async def test_replies_are_created_changed_and_deleted_with_compare_and_set(desk: Desk) -> None:
    status, made, etag = await make(
        desk, "ania", {"title": "Refund", "team": "billing", "language": "pl", "text": "Zwrot"}
    )
    assert status == 201 and made["source"] == "api" and made["updated_by"] == "ania"
    assert etag == f'"{made["version"]}"'
    path = f"/api/canned/{made['id']}"
    headers = {**desk.auth("ola"), "If-Match": etag}
    resp = await desk.client.put(path, json={"text": "Zwrot w 14 dni, {name}."}, headers=headers)
    changed = await resp.json()
    assert resp.status == 200 and changed["text"] == "Zwrot w 14 dni, {name}."
    assert changed["title"] == "Refund" and changed["updated_by"] == "ola"
    # The version ola changed is gone: a change made against it is refused.
    resp = await desk.client.put(path, json={"title": "Old"}, headers=headers)
    assert resp.status == 412 and "changed since" in (await resp.json())["error"]
    status, body = await desk.api("ola", "PUT", path, {"title": "Zwrot pieniędzy"})  # no If-Match
    assert status == 200 and body["title"] == "Zwrot pieniędzy"
    resp = await desk.client.delete(path, headers={**desk.auth("ola"), "If-Match": etag})
    assert resp.status == 412
    assert (await desk.client.delete(path, headers=desk.auth("ola"))).status == 204
    status, body = await desk.api("ola", "GET", path)
    assert status == 404 and "does not exist" in body["error"]
    assert (await desk.api("ola", "PUT", path, {"title": "x"}))[0] == 404
    assert (await desk.client.delete(path, headers=desk.auth("ola"))).status == 404


async def test_a_deleted_shipped_reply_stays_deleted_and_an_edited_one_stays_edited(
    desk: Desk,
) -> None:
    assert (
        await desk.client.delete("/api/canned/greeting.en", headers=desk.auth("ania"))
    ).status == 204
    status, _ = await desk.api("ania", "PUT", "/api/canned/checking.en", {"text": "One moment."})
    assert status == 200
    # Another start seeds again: nothing comes back, nothing is overwritten.
    replies = CannedReplies(desk.ctx.store, clock=desk.clock)
    assert await replies.seed(desk.ctx.config.canned) == 0
    _, every = await desk.api("ania", "GET", "/api/canned?language=en")
    ids = {r["id"]: r for r in every}
    assert "greeting.en" not in ids and ids["checking.en"]["text"] == "One moment."


async def test_agents_write_the_replies_of_their_teams(desk: Desk) -> None:
    body = {"title": "T", "language": "en", "text": "Text"}
    assert (await make(desk, "tomek", {**body, "team": "billing"}))[0] == 403
    status, answer, _ = await make(desk, "tomek", {**body, "team": None})
    assert status == 403 and "every team" in answer["error"]
    status, mine, _ = await make(desk, "tomek", {**body, "team": "technical"})
    assert status == 201
    path = f"/api/canned/{mine['id']}"
    assert (await desk.api("tomek", "PUT", path, {"team": "billing"}))[0] == 403
    assert (await desk.api("ola", "PUT", path, {"text": "x"}))[0] == 403
    assert (await desk.api("tomek", "PUT", "/api/canned/invoice_copy.en", {"text": "x"}))[0] == 403
    assert (
        await desk.client.delete("/api/canned/greeting.pl", headers=desk.auth("tomek"))
    ).status == 403
    assert (await desk.api("ania", "PUT", path, {"team": None}))[0] == 200  # ania serves all


async def test_bad_replies_are_refused_with_a_reason(desk: Desk) -> None:
    good = {"title": "T", "team": "billing", "language": "en", "text": "Hello {name}"}
    cases = [
        ({**good, "text": "Hello {nick}"}, "{nick} is not a placeholder"),
        ({**good, "team": "sales"}, "'sales' does not exist"),
        ({**good, "language": "de"}, "'de' is not supported"),
        ({**good, "title": ""}, "title"),
        ({**good, "text": "x" * 4001}, "text"),
        ({k: v for k, v in good.items() if k != "text"}, "text"),
        ({**good, "colour": "red"}, "colour"),
    ]
    for body, reason in cases:
        status, answer, _ = await make(desk, "ania", body)
        assert status == 422 and reason in answer["error"], (body, answer)
    for change in ({"title": None}, {"text": None}, {"text": "{nick}"}, {"language": "xx"}):
        status, answer = await desk.api("ania", "PUT", "/api/canned/greeting.pl", change)
        assert status == 422, (change, answer)
    assert (await desk.api("ania", "GET", "/api/canned?team=sales"))[0] == 400
    assert (await desk.api("ania", "GET", "/api/canned/nope.en"))[0] == 404
    assert (await desk.api("ania", "GET", "/api/canned?contact_id=nosuchcontact00000"))[0] == 404
    assert (await desk.client.get("/api/canned")).status == 401
