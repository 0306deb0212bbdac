"""The agent console holding several contacts at once: two chats open side by side, an
unread mark on the one not shown, replies kept per tab, each resolved on its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import chat_customer, contact, say, sign_in

Screenshot = Callable[[Page, str], Path]


def test_two_chats_open_side_by_side_with_unread_marks(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    first = chat_customer(
        pages, live_app, "My invoice for November is wrong", "jan.kowalski 482913"
    )
    second = chat_customer(pages, live_app, "Internet is down since morning", "firma.nowak 739155")

    agent = pages.new(viewport={"width": 1280, "height": 1000})
    sign_in(agent, live_app.url + "/agent", live_app.tokens["ania"])
    expect(agent.locator("#conn")).to_have_text("live")
    agent.keyboard.press("c")  # claim: a chat opens in a tab (the business customer first)
    tabs = agent.locator("#tab-list .tab")
    expect(tabs).to_have_count(1)
    expect(agent.locator("#c-name")).to_have_text("Firma Nowak Sp. z o.o.")
    expect(agent.locator("#tab-load")).to_have_text("chat 1/3")

    # A second chat while the first stays open: claimed from the tab bar.
    agent.click("#claim-more")
    expect(tabs).to_have_count(2)
    expect(agent.locator("#c-name")).to_have_text("Jan Kowalski")
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(agent.locator("#tab-load")).to_have_text("chat 2/3")
    nowak, jan = tabs.nth(0), tabs.nth(1)
    nowak_id = nowak.get_attribute("data-contact")
    jan_id = jan.get_attribute("data-contact")
    assert jan_id and nowak_id and jan_id != nowak_id
    assert contact(live_app, jan_id)["agent"] == contact(live_app, nowak_id)["agent"] == "ania"

    # The customer in the tab not shown writes: its tab is marked unread, the shown one is not.
    agent.fill("#reply", "Your invoice is being corrected.")  # a draft for Jan Kowalski
    say(second, "Are you still there?")
    expect(nowak).to_have_class("tab unread")
    expect(nowak.locator(".unread-dot")).to_be_visible()
    expect(jan).not_to_have_class("tab unread")
    expect(agent.locator("#queues tr[data-team=billing] .waiting-count")).to_have_text("0")
    expect(agent.locator("#queues tr[data-team=technical] .waiting-count")).to_have_text("0")
    agent.evaluate("() => window.scrollTo(0, 0)")  # the tab bar at the top in the picture
    screenshot(agent, "console-two-chats")

    # Open the other chat: the mark goes, its transcript shows, the first's draft is kept.
    nowak.click()
    expect(agent.locator("#c-name")).to_have_text("Firma Nowak Sp. z o.o.")
    expect(nowak).not_to_have_class("tab unread")
    expect(agent.locator("#transcript li.customer .text").last).to_have_text("Are you still there?")
    expect(agent.locator("#reply")).to_have_value("")
    agent.fill("#reply", "Yes, I am checking the line now.")
    agent.press("#reply", "Control+Enter")
    expect(second.locator("#log .msg[data-from=agent] .text")).to_have_text(
        ["Yes, I am checking the line now."]
    )
    expect(first.locator("#log .msg[data-from=agent]")).to_have_count(0)

    jan.click()
    expect(agent.locator("#reply")).to_have_value("Your invoice is being corrected.")
    agent.press("#reply", "Control+Enter")
    expect(first.locator("#log .msg[data-from=agent] .text")).to_have_text(
        ["Your invoice is being corrected."]
    )

    # Each is resolved on its own: the other stays open until it is.
    agent.select_option("#disposition", "solved")
    agent.click("#resolve")
    expect(tabs).to_have_count(1)
    expect(agent.locator("#c-name")).to_have_text("Firma Nowak Sp. z o.o.")
    assert contact(live_app, jan_id)["state"] == "resolved"
    assert contact(live_app, nowak_id)["state"] == "assigned"
    agent.click("#resolve")
    expect(agent.locator("#tabs")).to_be_hidden()
    expect(agent.locator("#idle")).to_be_visible()
    assert contact(live_app, nowak_id)["state"] == "resolved"
    assert pages.errors == []


def test_open_contacts_come_back_after_a_reload(live_app: LiveApp, pages: Pages) -> None:
    chat_customer(pages, live_app, "My invoice is wrong", "jan.kowalski 482913")
    chat_customer(pages, live_app, "No internet", "firma.nowak 739155")
    agent = pages.new()
    sign_in(agent, live_app.url + "/agent", live_app.tokens["ania"])
    agent.click("#claim")
    expect(agent.locator("#tab-list .tab")).to_have_count(1)
    agent.click("#claim-more")
    expect(agent.locator("#tab-list .tab")).to_have_count(2)
    agent.reload()
    expect(agent.locator("#tab-list .tab")).to_have_count(2)
    expect(agent.locator("#contact")).to_be_visible()
    status, me = live_app.api("ania", "GET", "/api/me")
    assert status == 200 and me["load"] == {"chat": 2}
    assert me["capacity"]["limits"]["chat"] == 3 and me["capacity"]["exclusive"] == ["voice"]
    assert pages.errors == []
