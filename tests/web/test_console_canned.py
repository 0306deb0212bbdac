"""Canned replies in the agent console: "/" and a search open the contact's team's and
language's replies filled for the customer; the keyboard picks one; a placeholder nothing
could fill is selected for the agent to type over; a reply changed through the API is what
the next "/" shows."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import MARKUP, chat_customer, pwned, sign_in

GREETING = "Good afternoon Jan Kowalski, this is customer support. How can I help?"


def claimed_chat(live_app: LiveApp, pages: Pages, agent_name: str = "ania") -> tuple[Page, Page]:
    """An English chat customer (billing) and an agent who claimed them."""
    customer = chat_customer(pages, live_app, "My invoice is wrong", "jan.kowalski 482913")
    agent = pages.new(viewport={"width": 1280, "height": 940})
    sign_in(agent, live_app.url + "/agent", live_app.tokens[agent_name])
    agent.click("#claim")
    expect(agent.locator("#c-channel")).to_have_text("chat")
    return customer, agent


def test_agent_picks_a_canned_reply_with_slash_and_sends_it(
    live_app: LiveApp, pages: Pages
) -> None:
    customer, agent = claimed_chat(live_app, pages)
    reply = agent.locator("#reply")
    picker = agent.locator("#canned")
    reply.press("/")
    expect(picker).to_be_visible()
    items = picker.locator(".canned-item")
    # Billing's and every team's, in English (the chat's language), filled for Jan.
    expect(items).to_have_count(5)
    expect(picker.locator(".canned-item[data-reply='greeting.en'] .canned-text")).to_have_text(
        GREETING
    )
    reply.press_sequentially("greet")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("aria-selected", "true")
    reply.press("Enter")  # picks; does not send, and adds no new line
    expect(picker).to_be_hidden()
    expect(reply).to_have_value(GREETING)
    reply.press("Control+Enter")
    expect(customer.locator("#log .msg[data-from=agent] .text")).to_have_text([GREETING])

    # In the middle of a text, after a space; Down moves, Tab picks; Escape just closes.
    reply.fill("Thanks! ")
    reply.press("End")
    reply.press_sequentially("/pleas")
    expect(items.locator(".canned-title")).to_have_text(["Case number", "Checking, one moment"])
    reply.press("ArrowDown")
    expect(items.nth(1)).to_have_attribute("aria-selected", "true")
    reply.press("Tab")
    checking = "I am checking this now, please bear with me for a moment."
    expect(reply).to_have_value("Thanks! " + checking)
    reply.press_sequentially(" /zzz")
    expect(picker.locator(".canned-note")).to_have_text("No canned reply matches; go on typing.")
    reply.press("Escape")
    expect(picker).to_be_hidden()
    expect(reply).to_have_value("Thanks! " + checking + " /zzz")
    assert pwned(agent) is None
    assert pages.errors == []


def test_an_unfilled_placeholder_is_selected_and_api_changes_show_at_once(
    live_app: LiveApp, pages: Pages
) -> None:
    _, agent = claimed_chat(live_app, pages)
    made = {
        "title": "Place in line",
        "team": "billing",
        "language": "en",
        "text": "You were number {position} in line; your case is {contact_id}. " + MARKUP,
    }
    status, created = live_app.api("ania", "POST", "/api/canned", made)
    assert status == 201
    reply = agent.locator("#reply")
    reply.press_sequentially("/place")
    items = agent.locator("#canned .canned-item")
    expect(items).to_have_count(1)
    assert agent.locator("#canned img, #canned script, #canned b").count() == 0
    reply.press("Enter")
    cid = agent.evaluate("() => sessionStorage.getItem('switchboard.held')")
    expected = f"You were number {{position}} in line; your case is {cid}. " + MARKUP
    expect(reply).to_have_value(expected)
    selected = agent.evaluate(
        "() => { const r = document.getElementById('reply');"
        " return r.value.slice(r.selectionStart, r.selectionEnd); }"
    )
    assert selected == "{position}"  # assigned: no place in line; the agent types it
    reply.press_sequentially("4")
    expect(reply).to_have_value(expected.replace("{position}", "4"))

    # Changed and deleted through the API: the next "/" reads them again.
    path = f"/api/canned/{created['id']}"
    assert live_app.api("ania", "PUT", path, {"title": "Queue place"})[0] == 200
    assert live_app.api("ania", "DELETE", "/api/canned/greeting.en")[0] == 204
    reply.fill("")
    reply.press("/")
    expect(agent.locator("#canned .canned-item[data-reply='greeting.en']")).to_have_count(0)
    expect(
        agent.locator(f"#canned .canned-item[data-reply='{created['id']}'] .canned-title")
    ).to_have_text("Queue place")
    assert pages.errors == []
