"""The agent console shows a verified customer's history on every channel (an earlier SMS on
another team with its notes and tags, and one from the same number before they verified),
and the agent notes and tags the contact in front of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from queues import Channel
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import MARKUP, chat_customer, contact, pwned, sign_in

Screenshot = Callable[[Page, str], Path]
NUMBER = "+48600100200"


def handle(live_app: LiveApp, agent: str, cid: str, disposition: str) -> None:
    status, claimed = live_app.api(agent, "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == cid
    body = {"disposition": disposition}
    assert live_app.api(agent, "POST", f"/api/contacts/{cid}/resolve", body)[0] == 200


def earlier_contacts(live_app: LiveApp, *, markup: str = "") -> tuple[str, str]:
    """Jan's history: an SMS he never verified (no answer), then a verified one on billing
    that ola noted, tagged and escalated. Returns (unverified id, verified id)."""
    assert live_app.ctx is not None
    sms = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    live_app.run(sms.say(NUMBER, "Internet nie działa od rana"))
    for _ in range(3):
        answer = live_app.run(sms.say(NUMBER, "nie.pamietam 000000"))
    unverified = answer.contact.id
    handle(live_app, "ania", unverified, "no_answer")
    live_app.clock.advance(3 * 86400)
    live_app.run(sms.say(NUMBER, "Faktura za październik jest za wysoka " + markup))
    verified = live_app.run(sms.say(NUMBER, "jan.kowalski 482913")).contact.id
    status, claimed = live_app.api("ola", "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == verified
    path = f"/api/contacts/{verified}"
    note = {"text": "Obiecałam korektę faktury do piątku " + markup}
    assert live_app.api("ola", "POST", path + "/notes", note)[0] == 201
    assert live_app.api("ola", "PUT", path + "/tags", {"tags": ["korekta", "vip"]})[0] == 200
    status, _ = live_app.api("ola", "POST", path + "/resolve", {"disposition": "escalated"})
    assert status == 200
    live_app.clock.advance(2 * 86400)
    return unverified, verified


def test_agent_sees_the_customers_history_and_notes_and_tags_the_contact(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    unverified, verified = earlier_contacts(live_app)
    customer = chat_customer(pages, live_app, "Internet is down again", "jan.kowalski 482913")

    agent = pages.new(viewport={"width": 1280, "height": 1000})
    sign_in(agent, live_app.url + "/agent", live_app.tokens["tomek"])  # technical only
    agent.click("#claim")
    expect(agent.locator("#c-channel")).to_have_text("chat")
    history = agent.locator("#c-history .tl-item")
    expect(history).to_have_count(2)
    expect(agent.locator("#c-history-count")).to_have_text("(2)")
    newest, oldest = history.nth(0), history.nth(1)
    expect(newest).to_have_attribute("data-contact", verified)
    expect(newest.locator(".badge.channel")).to_have_text("sms")
    expect(newest.locator(".tl-team")).to_have_text("Billing")  # another team's, shown
    expect(newest.locator(".tl-disposition")).to_have_text("escalated")
    expect(newest.locator(".tag")).to_have_text(["korekta", "vip"])
    expect(newest.locator(".tl-note-text")).to_have_text("Obiecałam korektę faktury do piątku")
    expect(newest.locator(".tl-note-head strong")).to_have_text("ola")
    expect(oldest).to_have_attribute("data-contact", unverified)
    expect(oldest.locator(".tl-joined")).to_have_text("unverified, same number")
    expect(oldest.locator(".tl-disposition")).to_have_text("no_answer")

    # Notes and tags on the contact in front of the agent.
    agent.fill("#note-text", "Trzecia awaria w tym miesiącu; zaproponować technika.")
    agent.click("#note-add")
    expect(agent.locator("#c-notes .tl-note-text")).to_have_text(
        ["Trzecia awaria w tym miesiącu; zaproponować technika."]
    )
    expect(agent.locator("#note-text")).to_have_value("")
    for tag in ("Awaria", "technik"):
        agent.fill("#tag-input", tag)
        agent.press("#tag-input", "Enter")
    expect(agent.locator("#c-tags .tl-tag")).to_have_count(2)
    expect(agent.locator("#c-tags .tl-tag").nth(0)).to_have_attribute("data-tag", "awaria")
    agent.evaluate("() => window.scrollTo(0, 0)")
    screenshot(agent, "console-timeline")
    agent.fill("#tag-input", "two words")
    agent.press("#tag-input", "Enter")
    expect(agent.locator("#note-error")).to_contain_text("is not a tag")

    cid = agent.evaluate("() => sessionStorage.getItem('switchboard.held')")
    kept = contact(live_app, cid)["meta"]
    assert kept["tags"] == ["awaria", "technik"]
    assert [(n["agent"], n["text"]) for n in kept["notes"]] == [
        ("tomek", "Trzecia awaria w tym miesiącu; zaproponować technika.")
    ]
    # A tag goes with its ×; a live update of the contact keeps the notes and tags drawn.
    agent.click("#c-tags .tl-tag[data-tag=technik] .tl-untag")
    expect(agent.locator("#c-tags .tl-tag")).to_have_count(1)
    customer.fill("#text", "Any news?")
    customer.press("#text", "Enter")
    expect(agent.locator("#transcript li.customer .text").last).to_have_text("Any news?")
    expect(agent.locator("#c-tags .tl-tag")).to_have_count(1)
    expect(agent.locator("#c-notes .tl-note")).to_have_count(1)
    assert contact(live_app, cid)["meta"]["tags"] == ["awaria"]
    assert pages.errors == []


def test_history_shows_markup_as_text_and_an_unverified_customer_none(
    live_app: LiveApp, pages: Pages
) -> None:
    earlier_contacts(live_app, markup=MARKUP)
    chat_customer(pages, live_app, "Internet is down " + MARKUP, "jan.kowalski 482913")
    assert live_app.ctx is not None
    sms = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    live_app.run(sms.say("+48700000001", "Jestem Jan Kowalski, internet nie działa"))
    for _ in range(3):
        live_app.run(sms.say("+48700000001", "jan.kowalsky 111111"))

    agent = pages.new()
    sign_in(agent, live_app.url + "/agent", live_app.tokens["ania"])
    agent.click("#claim")  # the chat: verified, with Jan's history
    expect(agent.locator("#c-history .tl-item")).to_have_count(2)
    expect(agent.locator("#c-history .tl-note-text")).to_have_text(
        ["Obiecałam korektę faktury do piątku " + MARKUP]
    )
    assert agent.locator("#c-timeline img, #c-timeline script, #c-timeline b").count() == 0
    agent.fill("#note-text", MARKUP)
    agent.click("#note-add")
    expect(agent.locator("#c-notes .tl-note-text")).to_have_text([MARKUP])
    assert agent.locator("#c-timeline img, #c-timeline script, #c-timeline b").count() == 0
    agent.click("#resolve")
    agent.click("#claim")  # the unverified SMS
    expect(agent.locator("#c-verified")).to_have_text("not verified")
    expect(agent.locator("#c-history-empty")).to_contain_text("Not verified")
    expect(agent.locator("#c-history .tl-item")).to_have_count(0)
    expect(agent.locator("#c-notes .tl-note")).to_have_count(0)
    assert pwned(agent) is None
    assert pages.errors == []
