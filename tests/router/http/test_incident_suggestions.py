"""Incident suggestions, links and notifications through the real app on loopback: real
inbound messages through the test channels, the real flow, store and outbox."""

from __future__ import annotations

from typing import Any

from queues import Channel
from tests.router.conftest import Desk
from tests.router.testchannel import TestChannel

STORE_BACKENDS = ["memory", "sqlite", "redis"]

#: One outage, written by twelve customers in four languages.
OUTAGE = [
    "nie działa internet",
    "No internet since 9am",
    "не работает интернет",
    "Awaria światłowodu",
    "Internet nie działa od rana",
    "brak internetu na osiedlu",
    "אין אינטרנט",
    "Awaria światłowodu?",
    "my internet is down",
    "Нет интернета",
    "internet nie działa, router miga",
    "Awaria światłowodu, Kraków",
]
#: A quiet morning: everyone writes about something else.
QUIET = [
    "faktura za listopad",
    "zmiana adresu korespondencyjnego",
    "jak przenieść domenę?",
    "wolne łącze wieczorami",
    "proszę o kod authinfo",
    "certyfikat ssl wygasł",
]


async def burst(desk: Desk, texts: list[str], *, first: int = 100) -> list[str]:
    """One SMS from a new number per text, a few seconds apart; the contacts' ids."""
    sms = desk.channels[Channel.SMS]
    ids = []
    for n, text in enumerate(texts, start=first):
        answer = await sms.say(f"+48600000{n:03d}", text)
        ids.append(answer.contact.id)
        desk.clock.advance(5)
    return ids


async def suggestions(desk: Desk) -> list[dict[str, Any]]:
    status, found = await desk.api("ania", "GET", "/api/incidents/suggestions")
    assert status == 200
    assert isinstance(found, list)
    return found


async def test_a_burst_of_one_topic_in_four_languages_suggests_one_incident(desk: Desk) -> None:
    ids = await burst(desk, OUTAGE)
    [found] = await suggestions(desk)
    assert found["topic"] == "internet+outage" and found["team"] == "technical"
    assert found["kind"] == "topic"
    assert found["count"] >= 6 and found["window_s"] == 600
    assert found["expected"] < 2
    assert 1 <= len(found["sample_contact_ids"]) <= 5
    assert set(found["sample_contact_ids"]) <= set(ids)
    assert set(found["text"]) == {"pl", "en", "ru", "he"}
    assert "nie działa" in found["text"]["pl"] and "down" in found["text"]["en"]


async def test_quiet_traffic_suggests_nothing(desk: Desk) -> None:
    await burst(desk, QUIET + QUIET[::-1])
    assert await suggestions(desk) == []


async def test_opening_a_suggestion_links_its_contacts_and_the_next_ones(desk: Desk) -> None:
    ids = await burst(desk, OUTAGE)
    [found] = await suggestions(desk)
    status, incident = await desk.api(
        "ania", "POST", "/api/incidents", {"from_suggestion": found["id"]}
    )
    assert status == 201
    assert incident["id"] == found["id"] and incident["topic"] == "internet+outage"
    assert incident["team"] == "technical" and incident["texts"] == found["text"]
    assert incident["text"] == found["text"]["pl"]
    assert await suggestions(desk) == []  # opened: no longer a suggestion
    for cid in ids:
        _, contact = await desk.api("ania", "GET", f"/api/contacts/{cid}")
        assert contact["incident"] == incident["id"]
    [late, unrelated] = await burst(desk, ["nie mam internetu", "faktura za grudzień"], first=300)
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{late}")
    assert contact["incident"] == incident["id"]
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{unrelated}")
    assert contact["incident"] is None
    # Opening it again (a retried request) opens nothing new.
    status, _ = await desk.api("ania", "POST", "/api/incidents", {"from_suggestion": found["id"]})
    assert status == 404  # it is an incident now, not a suggestion
    _, listed = await desk.api("ania", "GET", "/api/incidents")
    assert [i["id"] for i in listed] == [incident["id"]]


async def test_the_announcement_is_editable_per_language_and_said_in_each(desk: Desk) -> None:
    await burst(desk, OUTAGE)
    [found] = await suggestions(desk)
    status, incident = await desk.api(
        "ania",
        "POST",
        "/api/incidents",
        {"from_suggestion": found["id"], "text": {"en": "A fibre cut in Kraków"}},
    )
    assert status == 201
    assert incident["texts"]["en"] == "A fibre cut in Kraków"
    assert incident["texts"]["pl"] == found["text"]["pl"]
    chat = desk.channels[Channel.CHAT]
    answer = await chat.say("web-1", "Hello, my internet does not work", language="en")
    answer = await chat.say("web-1", "jan.kowalski 482913")
    told = " ".join(p.text for p in answer.prompts)
    assert "A fibre cut in Kraków" in told


async def test_a_contact_queued_on_the_incidents_team_is_linked_by_team(desk: Desk) -> None:
    status, incident = await desk.api(
        "ania", "POST", "/api/incidents", {"team": "billing", "text": "Płatności nie działają"}
    )
    assert status == 201 and incident["topic"] is None and incident["texts"] == {}
    sms = desk.channels[Channel.SMS]
    await sms.say("+48600000501", "faktura za listopad")
    answer = await sms.say("+48600000501", "jan.kowalski 482913")
    assert answer.contact.team == "billing"
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{answer.contact.id}")
    assert contact["incident"] == incident["id"]
    await sms.say("+48600000502", "internet nie działa")
    answer = await sms.say("+48600000502", "jan.kowalski 482913")
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{answer.contact.id}")
    assert answer.contact.team == "technical" and contact["incident"] is None


async def test_opening_by_hand_links_the_contacts_already_waiting(desk: Desk) -> None:
    sms = desk.channels[Channel.SMS]
    await sms.say("+48600000601", "faktura za listopad")
    waiting = await sms.say("+48600000601", "jan.kowalski 482913")
    _, incident = await desk.api(
        "ania", "POST", "/api/incidents", {"team": "billing", "text": "Płatności nie działają"}
    )
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{waiting.contact.id}")
    assert contact["incident"] == incident["id"]


async def notify(desk: Desk, incident_id: str, body: dict[str, Any]) -> dict[str, Any]:
    status, done = await desk.api("ania", "POST", f"/api/incidents/{incident_id}/notify", body)
    assert status == 200, done
    assert await desk.ctx.courier.join(5)
    assert isinstance(done, dict)
    return done


async def test_an_update_reaches_each_linked_contact_once_on_its_own_channel(
    desk: Desk,
) -> None:
    await burst(desk, OUTAGE[:8])
    chat = desk.channels[Channel.CHAT]
    await chat.say("web-7", "no internet at all", language="en")
    await burst(desk, OUTAGE[8:], first=200)
    [found] = await suggestions(desk)
    _, incident = await desk.api("ania", "POST", "/api/incidents", {"from_suggestion": found["id"]})
    sms: TestChannel = desk.channels[Channel.SMS]
    before_sms, before_chat = len(sms.sent), len(chat.sent)
    update = {"pl": "Technicy są na miejscu.", "en": "Technicians are on site."}
    done = await notify(desk, incident["id"], {"text": update})
    assert done["linked"] == 13 and done["posted"] == 13 and done["already"] == 0
    new_sms, new_chat = sms.sent[before_sms:], chat.sent[before_chat:]
    assert len(new_sms) == 12 and len({r.address for r in new_sms}) == 12
    assert [r.text for r in new_chat] == ["Technicians are on site."]
    assert {r.text for r in new_sms} <= set(update.values())
    # The same request again (a retry), or run by another process: nothing goes twice.
    done = await notify(desk, incident["id"], {"text": update})
    assert done["posted"] == 0 and done["already"] == 13
    assert len(sms.sent) == before_sms + 12 and len(chat.sent) == before_chat + 1
    # The update is in each contact's history.
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{found['sample_contact_ids'][0]}")
    assert contact["messages"][-1]["meta"]["incident"] == incident["id"]


async def test_voice_contacts_are_skipped_and_counted(desk: Desk) -> None:
    _, incident = await desk.api("ania", "POST", "/api/incidents", {"text": "Awaria w całej sieci"})
    voice = TestChannel(channel=Channel.VOICE, inbox=desk.ctx.service)
    await voice.say("CA1:+48600000701", None)
    await desk.channels[Channel.SMS].say("+48600000702", "pomocy")
    done = await notify(desk, incident["id"], {"text": "Naprawiamy."})
    assert done["linked"] == 2 and done["posted"] == 1
    assert done["skipped"] == {"voice": 1, "channel": 0}


async def test_closing_with_notify_sends_the_resolved_message_once(desk: Desk) -> None:
    await burst(desk, OUTAGE)
    [found] = await suggestions(desk)
    _, incident = await desk.api("ania", "POST", "/api/incidents", {"from_suggestion": found["id"]})
    sms = desk.channels[Channel.SMS]
    before = len(sms.sent)
    status, closed = await desk.api(
        "ania", "DELETE", f"/api/incidents/{incident['id']}", {"notify": True}
    )
    assert status == 200 and closed["closed_at"] is not None
    assert closed["notified"]["posted"] == 12
    assert await desk.ctx.courier.join(5)
    resolved = sms.sent[before:]
    assert len(resolved) == 12
    assert all(r.text.startswith("Awaria została usunięta") for r in resolved if r.language == "pl")
    status, again = await desk.api("ania", "DELETE", f"/api/incidents/{incident['id']}?notify=1")
    assert status == 200 and again["notified"]["posted"] == 0
    assert await desk.ctx.courier.join(5)
    assert len(sms.sent) == before + 12


async def test_closing_without_notify_sends_nothing(desk: Desk) -> None:
    _, incident = await desk.api("ania", "POST", "/api/incidents", {"text": "Awaria"})
    await desk.channels[Channel.SMS].say("+48600000801", "pomocy")
    status, closed = await desk.api("ania", "DELETE", f"/api/incidents/{incident['id']}")
    assert status == 200 and "notified" not in closed


async def test_a_dismissed_suggestion_stays_hidden_while_its_spike_goes_on(desk: Desk) -> None:
    await burst(desk, OUTAGE[:8])
    [found] = await suggestions(desk)
    status, _ = await desk.api("ania", "DELETE", f"/api/incidents/suggestions/{found['id']}")
    assert status == 200
    await burst(desk, OUTAGE[8:], first=200)
    assert await suggestions(desk) == []


async def test_a_suggestion_goes_stale_when_its_spike_ends(desk: Desk) -> None:
    await burst(desk, OUTAGE)
    assert len(await suggestions(desk)) == 1
    desk.clock.advance(31 * 60)
    assert await suggestions(desk) == []


async def test_refusals(desk: Desk) -> None:
    status, body = await desk.api("ania", "POST", "/api/incidents", {"from_suggestion": "nope"})
    assert status == 404 and "suggestion" in body["error"]
    status, body = await desk.api("ania", "POST", "/api/incidents", {"team": "billing"})
    assert status == 422 and "text" in body["error"]
    status, body = await desk.api("ania", "POST", "/api/incidents", {"text": {"de": "Störung"}})
    assert status == 422 and "de" in body["error"]
    status, body = await desk.api("ania", "POST", "/api/incidents/nope/notify", {"text": "x"})
    assert status == 404
    status, body = await desk.api("ania", "DELETE", "/api/incidents/suggestions/nope")
    assert status == 404
    resp = await desk.client.get("/api/incidents/suggestions")
    assert resp.status == 401


BILLING = [
    "faktura za listopad",
    "zaległa płatność",
    "saldo konta",
    "zwrot pieniędzy",
    "opłata abonamentowa",
    "przelew nie dotarł",
    "wezwanie do zapłaty",
    "korekta rachunku",
    "nadpłata na koncie",
    "zmiana cennika",
    "windykacja pomyłka",
    "obciążenie karty",
]


async def queue_billing(desk: Desk, n: int, text: str) -> str:
    sms = desk.channels[Channel.SMS]
    await sms.say(f"+48601{n:06d}", text)
    answer = await sms.say(f"+48601{n:06d}", "jan.kowalski 482913")
    assert answer.contact.team == "billing"
    return answer.contact.id


async def test_a_team_busier_than_its_usual_hour_suggests_a_rate_incident(desk: Desk) -> None:
    # A day of history: one billing contact an hour, learned hour by hour.
    for hour in range(26):
        await queue_billing(desk, hour, BILLING[hour % len(BILLING)])
        desk.clock.advance(3600)
    assert await suggestions(desk) == []
    ids = [await queue_billing(desk, 100 + n, text) for n, text in enumerate(BILLING)]
    [found] = await suggestions(desk)
    assert found["kind"] == "rate" and found["team"] == "billing" and found["topic"] is None
    assert found["count"] >= 5 and found["expected"] < 1
    assert set(found["sample_contact_ids"]) <= set(ids)
    assert "Rozliczenia" in found["text"]["pl"] and "Billing" in found["text"]["en"]
