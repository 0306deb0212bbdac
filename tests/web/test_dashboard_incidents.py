"""Suggested incidents on the supervisor dashboard, in a real browser: a burst of SMS about
one outage appears as a suggestion by itself, and one click opens the incident with the
announcement as prefilled and edited on the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from queues import Channel
from tests.router.testchannel import TestChannel
from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import eventually, sign_in

Screenshot = Callable[[Page, str], Path]

OUTAGE = ["nie działa internet", "no internet", "не работает интернет", "Awaria światłowodu"]


def sms_burst(live_app: LiveApp, count: int) -> list[str]:
    """``count`` customers' first SMS about one outage, from different numbers."""
    assert live_app.ctx is not None
    sms = TestChannel(inbox=live_app.ctx.service, channel=Channel.SMS)
    ids = []
    for n in range(count):
        answer = live_app.run(sms.say(f"+48600200{n:03d}", OUTAGE[n % len(OUTAGE)]))
        ids.append(answer.contact.id)
    return ids


def test_a_burst_of_sms_appears_as_a_suggestion_and_opens_from_the_dashboard(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    board = pages.new(viewport={"width": 1280, "height": 1400})
    sign_in(board, live_app.url + "/dashboard", live_app.tokens["ola"])
    card = board.locator("#suggestions-card")
    expect(card).to_be_hidden()

    ids = sms_burst(live_app, 12)  # while the page is open: it appears by itself
    item = board.locator("#suggestions li.suggestion")
    expect(item).to_have_count(1)
    expect(card).to_be_visible()
    expect(item.locator(".topic")).to_have_text("internet + outage")
    expect(item.locator(".badge")).to_have_text("Technical support")
    pl = item.locator("input[data-language=pl]")
    en = item.locator("input[data-language=en]")
    expect(pl).to_have_value("Internet nie działa u części klientów")
    expect(en).to_have_value("Internet access is down for some customers")
    expect(item.locator("input[data-language=he]")).to_have_attribute("dir", "auto")

    # Edited while the page keeps polling: the edit stays.
    en.fill("Fibre cut in Kraków, repair expected by 16:00")
    board.wait_for_timeout(3500)  # past the next poll
    expect(en).to_have_value("Fibre cut in Kraków, repair expected by 16:00")
    screenshot(board, "dashboard-suggestion")

    item.locator("button.open").click()
    expect(card).to_be_hidden()
    opened = board.locator("#incidents li")
    expect(opened).to_have_count(1)
    expect(opened.locator(".what")).to_have_text("Internet nie działa u części klientów")

    _, incidents = live_app.api("ola", "GET", "/api/incidents")
    [incident] = incidents
    assert incident["topic"] == "internet+outage" and incident["team"] == "technical"
    assert incident["texts"]["en"] == "Fibre cut in Kraków, repair expected by 16:00"
    assert incident["texts"]["pl"] == "Internet nie działa u części klientów"
    linked = eventually(
        lambda: all(
            live_app.api("ola", "GET", f"/api/contacts/{cid}")[1]["incident"] == incident["id"]
            for cid in ids
        )
    )
    assert linked
    assert pages.errors == []


def test_a_dismissed_suggestion_leaves_the_dashboard(live_app: LiveApp, pages: Pages) -> None:
    board = pages.new(viewport={"width": 1280, "height": 1000})
    sign_in(board, live_app.url + "/dashboard", live_app.tokens["ola"])
    sms_burst(live_app, 10)
    item = board.locator("#suggestions li.suggestion")
    expect(item).to_have_count(1)
    item.locator("button.dismiss").click()
    expect(board.locator("#suggestions-card")).to_be_hidden()
    _, listed = live_app.api("ola", "GET", "/api/incidents/suggestions")
    assert listed == []
    assert pages.errors == []
