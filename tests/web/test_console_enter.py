"""In a real browser: the agent console sends with Enter (Shift+Enter for a new line), the
customer's chat says "agent joined" after the queue message and before the agent's first
words, and a large change of the wait appears in the chat as the router's own message."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import chat_customer, contact, eventually, say, sign_in


def log_classes(page: Page) -> list[str]:
    """The chat log's entries in order: from (customer/system/agent) or "notice"."""
    return list(
        page.eval_on_selector_all(
            "#log .msg, #log .notice",
            "nodes => nodes.map(n => n.classList.contains('notice') ? 'notice' : n.dataset.from)",
        )
    )


def test_enter_sends_the_reply_and_shift_enter_starts_a_new_line(
    live_app: LiveApp, pages: Pages
) -> None:
    agent = pages.new()
    sign_in(agent, live_app.url + "/agent", live_app.tokens["tomek"])
    expect(agent.locator("#conn")).to_have_text("live")
    agent.click("#claim")  # waiting for work
    expect(agent.locator("#waiting")).to_be_visible()

    customer = pages.new(viewport={"width": 420, "height": 760})
    customer.goto(live_app.url + "/chat?lang=en")
    expect(customer.locator("#conn")).to_have_attribute("data-state", "online")
    say(customer, "My internet is down")
    expect(customer.locator("#log .msg[data-from=system]").first).to_be_visible()
    say(customer, "jan.kowalski 482913")  # queued, and taken at once by the waiting agent
    expect(agent.locator("#contact")).to_be_visible()
    # "joined" comes after the queue message, and the place is no longer shown.
    expect(customer.locator("#log .notice")).to_have_text("tomek has joined the conversation.")
    expect(customer.locator("#queue")).to_be_hidden()

    reply = agent.locator("#reply")
    reply.press("Enter")  # empty: nothing is sent
    reply.type("Good afternoon.")
    reply.press("Shift+Enter")
    reply.type("I am checking your line now.")
    expect(reply).to_have_value("Good afternoon.\nI am checking your line now.")
    reply.press("Enter")
    expect(reply).to_have_value("")
    expect(customer.locator("#log .msg[data-from=agent] .text")).to_have_text(
        ["Good afternoon.\nI am checking your line now."]
    )
    cid = agent.evaluate("() => sessionStorage.getItem('switchboard.held')")
    sent = [m["text"] for m in contact(live_app, cid)["messages"] if m["author"] == "tomek"]
    assert sent == ["Good afternoon.\nI am checking your line now."]

    order = log_classes(customer)
    assert order[-2:] == ["notice", "agent"], order
    assert order.index("notice") > max(i for i, f in enumerate(order) if f == "system"), order
    assert "waiting in the queue" in customer.locator("#log .msg-system").last.inner_text()
    assert pages.errors == []


def test_a_halved_wait_is_shown_in_the_chat_as_the_router_speaking(
    live_app: LiveApp, pages: Pages
) -> None:
    chat_customer(pages, live_app, "My internet is down", "jan.kowalski 482913")
    second = chat_customer(pages, live_app, "Still no internet", "jan.kowalski 482913")
    expect(second.locator("#queue")).to_contain_text("Place in queue: 2")
    status, _ = live_app.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200

    update = second.locator("#log .msg-system").last
    expect(update.locator(".text")).to_have_text(
        "Your wait has changed: you are now number 1 in the queue, about 5 minutes."
    )
    expect(second.locator("#queue")).to_contain_text("Place in queue: 1")  # still waiting
    assert second.locator("#log .notice").count() == 0  # nobody joined
    assert eventually(lambda: log_classes(second)[-1] == "system")
    assert pages.errors == []
