"""The agent console in a real browser: a chat customer is claimed, answered, moved, resolved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import APIResponse, Page, Route, expect

from queues import Channel
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import (
    MARKUP,
    add_sms_outbox,
    chat_customer,
    contact,
    eventually,
    pwned,
    sign_in,
    sms_customer,
)

Screenshot = Callable[[Page, str], Path]


def test_agent_claims_a_chat_customer_replies_transfers_and_resolves(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    customer = chat_customer(
        pages, live_app, "Hello, my invoice for November is wrong " + MARKUP, "jan.kowalski 482913"
    )

    agent = pages.new(viewport={"width": 1280, "height": 940})
    sign_in(agent, live_app.url + "/agent", live_app.tokens["ania"])
    expect(agent.locator("#agent-name")).to_have_text("ania")
    expect(agent.locator("#conn")).to_have_text("live")
    billing = agent.locator("#queues tr[data-team=billing] .waiting-count")
    expect(billing).to_have_text("1")  # pushed over the websocket

    agent.keyboard.press("c")  # claim
    card = agent.locator("#contact")
    expect(card).to_be_visible()
    expect(agent.locator("#c-channel")).to_have_text("chat")
    expect(agent.locator("#c-verified")).to_have_text("✓ verified")
    expect(agent.locator("#c-name")).to_have_text("Jan Kowalski")
    expect(agent.locator("#c-account")).to_have_text("jan.kowalski")
    expect(agent.locator("#c-number")).to_have_text("1001")
    expect(agent.locator("#c-tier")).to_have_text("residential")
    expect(agent.locator("#c-balance")).to_have_text("0.00")
    expect(agent.locator("#c-services li")).to_have_text(["internet-300", "domain jankowalski.pl"])
    expect(agent.locator("#c-team")).to_have_text("Billing")
    expect(agent.locator("#c-sla")).not_to_have_text("–")
    transcript = agent.locator("#transcript")
    first = transcript.locator("li.customer").first
    expect(first.locator(".text")).to_have_text("Hello, my invoice for November is wrong " + MARKUP)
    expect(transcript.locator("li.flow").first).to_be_visible()
    assert transcript.locator("img, script, b").count() == 0
    expect(billing).to_have_text("0")
    customer_text = transcript.locator("li.customer .text")
    expect(customer_text.nth(1)).to_contain_text("jan.kowalski")
    expect(customer_text.nth(1)).not_to_contain_text("482913")  # the code is never kept

    # The reply goes out through the chat and appears in the customer's page.
    agent.fill("#reply", "Good afternoon, I am checking your invoice now.")
    expect(customer.locator("#typing")).to_be_visible()  # "ania is typing…"
    agent.press("#reply", "Control+Enter")
    expect(transcript.locator("li.agent .text")).to_have_text(
        ["Good afternoon, I am checking your invoice now."]
    )
    expect(customer.locator("#log .msg[data-from=agent] .text")).to_have_text(
        ["Good afternoon, I am checking your invoice now."]
    )
    # The customer answers: it arrives live, and their typing shows first.
    customer.fill("#text", "Thank you")
    expect(agent.locator("#typing")).to_be_visible()
    customer.press("#text", "Enter")
    expect(customer_text.last).to_have_text("Thank you")
    screenshot(agent, "agent")
    screenshot(customer, "chat_with_agent")

    # Transfer to another of ania's teams, claim it back with Alt+N, resolve with Alt+R.
    cid = agent.evaluate("() => sessionStorage.getItem('switchboard.held')")
    agent.select_option("#transfer-team", "domains_hosting")
    agent.click("#transfer")
    expect(card).to_be_hidden()
    expect(agent.locator("#toast")).to_have_text("Transferred to Domains and hosting.")
    assert contact(live_app, cid)["team"] == "domains_hosting"
    expect(agent.locator("#queues tr[data-team=domains_hosting] .waiting-count")).to_have_text("1")
    agent.keyboard.press("Alt+n")
    expect(agent.locator("#c-team")).to_have_text("Domains and hosting")
    agent.click("#release")
    expect(card).to_be_hidden()
    assert contact(live_app, cid)["state"] == "waiting"
    agent.click("#claim")
    expect(card).to_be_visible()
    agent.select_option("#disposition", "solved")
    agent.keyboard.press("Alt+r")
    expect(card).to_be_hidden()
    expect(agent.locator("#toast")).to_have_text("Resolved (solved).")
    done = contact(live_app, cid)
    assert done["state"] == "resolved" and done["disposition"] == "solved"
    assert [m["text"] for m in done["messages"] if m["author"] == "ania"] == [
        "Good afternoon, I am checking your invoice now."
    ]
    assert pwned(agent) is None and pwned(customer) is None
    assert pages.errors == []


def test_console_waits_for_a_contact_shows_markup_as_text_and_delivery_failures(
    live_app: LiveApp, pages: Pages
) -> None:
    outbox = add_sms_outbox(live_app, fail_next=4)  # every try of the reply
    agent = pages.new()
    agent.clock.install()  # the page's timers run on, and can be fast-forwarded
    sign_in(agent, live_app.url + "/agent", live_app.tokens["ola"])
    agent.click("#claim")
    expect(agent.locator("#waiting")).to_be_visible()  # the spinner: nothing is waiting yet

    cid = sms_customer(live_app, "+48600100200", "Faktura " + MARKUP)
    expect(agent.locator("#contact")).to_be_visible()  # the long-poll took it at once
    expect(agent.locator("#waiting")).to_be_hidden()
    expect(agent.locator("#c-channel")).to_have_text("sms")
    expect(agent.locator("#transcript li.customer .text").first).to_have_text("Faktura " + MARKUP)
    assert agent.locator("#transcript img, #transcript script").count() == 0

    # A provider failure is shown, kept in the transcript, and the text is kept to retry.
    agent.fill("#reply", "Sprawdzam.")
    agent.click("#send")
    expect(agent.locator("#reply-error")).to_contain_text("Not delivered")
    expect(agent.locator("#reply")).to_have_value("Sprawdzam.")
    failed = agent.locator("#transcript li.agent.failed")
    expect(failed.locator(".delivery")).to_have_text("Not delivered: the provider answered 500")
    agent.click("#send")
    expect(agent.locator("#reply")).to_have_value("")
    expect(agent.locator("#reply-error")).to_have_text("")
    assert [r.text for r in outbox.sent] == ["Sprawdzam."]

    # A new customer message arrives without reloading.
    live_app.run(_say_sms(live_app, "+48600100200", "<i>halo?</i>"))
    expect(agent.locator("#transcript li.customer .text").last).to_have_text("<i>halo?</i>")

    # The lease is renewed while the contact is open (every lease_s / 3), and a reload
    # picks the held contact up again.
    before = contact(live_app, cid)["lease_until"]
    live_app.clock.advance(45)
    agent.clock.run_for(21_000)
    eventually(lambda: contact(live_app, cid)["lease_until"] > before)
    agent.reload()
    expect(agent.locator("#transcript li.customer .text").last).to_have_text("<i>halo?</i>")

    # Break: the console stops claiming and the agent is no longer counted available.
    agent.check("input[name=status][value=break]")
    expect(agent.locator("#claim")).to_be_disabled()
    eventually(lambda: _available(live_app, "billing") == 0 or None)
    agent.keyboard.press("Alt+r")
    expect(agent.locator("#contact")).to_be_hidden()
    assert contact(live_app, cid)["state"] == "resolved"
    assert pwned(agent) is None
    # The browser logs the 502 it was answered; nothing else went wrong.
    assert [e for e in pages.errors if "status of 502" not in e] == []


async def _say_sms(live_app: LiveApp, address: str, text: str) -> None:
    assert live_app.ctx is not None
    sms = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    await sms.say(address, text, key=f"later:{address}:{text}")


def _available(live_app: LiveApp, team: str) -> int:
    _, queues = live_app.api("ania", "GET", "/api/queues")
    return int(next(q for q in queues if q["team"] == team)["agents_available"])


def test_a_bad_token_is_refused_and_signing_out_hands_the_contact_back(
    live_app: LiveApp, pages: Pages
) -> None:
    page = pages.new()
    page.goto(live_app.url + "/agent")
    expect(page.locator("#console")).to_be_hidden()
    page.fill("#token", "not-a-token")
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#signin-error")).to_have_text("That token is not valid.")
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("() => sessionStorage.getItem('switchboard.token')") is None

    sign_in(page, live_app.url + "/agent", live_app.tokens["tomek"])
    cid = sms_customer(live_app, "+48600100400", "internet nie działa")
    page.keyboard.press("Alt+n")
    expect(page.locator("#c-team")).to_have_text("Technical support")
    page.click("#sign-out")
    expect(page.locator("#console")).to_be_hidden()
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('switchboard.token')") is None
    assert contact(live_app, cid)["state"] == "waiting"


def test_a_reload_answered_after_a_pushed_message_does_not_hide_it(
    live_app: LiveApp, pages: Pages
) -> None:
    """The console re-reads its contact after a reply. When that read's answer comes after
    the socket pushed a newer state (here: held until the customer's next SMS was pushed),
    the older answer must not replace what is shown: the server pushes nothing more, as the
    console already has the newest state, so the message would stay hidden."""
    add_sms_outbox(live_app)
    agent = pages.new()
    sign_in(agent, live_app.url + "/agent", live_app.tokens["ola"])
    cid = sms_customer(live_app, "+48600100300", "Faktura za listopad")
    agent.click("#claim")
    expect(agent.locator("#contact")).to_be_visible()
    customer_text = agent.locator("#transcript li.customer .text")
    expect(customer_text.first).to_have_text("Faktura za listopad")

    held: list[tuple[Route, APIResponse]] = []

    def hold_reads(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        held.append((route, route.fetch()))  # read now, answered later

    agent.route(f"**/api/contacts/{cid}", hold_reads)
    agent.fill("#reply", "Sprawdzam.")
    agent.click("#send")
    expect(agent.locator("#reply")).to_have_value("")
    while not held:
        agent.wait_for_timeout(20)
    live_app.run(_say_sms(live_app, "+48600100300", "halo?"))
    expect(customer_text.last).to_have_text("halo?")  # pushed over the socket
    route, stale = held[0]
    with agent.expect_response(lambda r: r.request.method == "GET" and cid in r.url):
        route.fulfill(response=stale)
    agent.wait_for_timeout(300)  # the page handles the late answer
    expect(customer_text.last).to_have_text("halo?", timeout=1_000)
    assert pages.errors == []
