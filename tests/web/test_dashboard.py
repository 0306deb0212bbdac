"""The supervisor dashboard in a real browser: numbers move with the queues, incidents open
and close from the page, and the charts are drawn from the last hour's events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import MARKUP, busy_hour, eventually, pwned, sign_in, sms_customer

Screenshot = Callable[[Page, str], Path]


def test_dashboard_numbers_follow_the_queues_and_incidents_open_and_close(
    live_app: LiveApp, pages: Pages, screenshot: Screenshot
) -> None:
    busy_hour(live_app)
    _, stats = live_app.api("ola", "GET", "/api/stats")
    waiting, answered = stats["overall"]["waiting"], stats["overall"]["answered"]
    assert waiting >= 1 and answered >= 10

    board = pages.new(viewport={"width": 1280, "height": 1320})
    sign_in(board, live_app.url + "/dashboard?refresh=1", live_app.tokens["ola"])
    total = board.locator("#t-waiting")
    expect(total).to_have_text(str(waiting))
    row = board.locator("#teams tr[data-team=billing]")
    expect(board.locator("#teams tr[data-team='*'] .answered")).to_have_text(str(answered))
    expect(row.locator("th")).to_have_text("Billing")

    # Charts: drawn on the server from the events, inlined into the page as SVG.
    bars = board.locator("#chart-contacts svg rect.bar")
    expect(bars.first).to_be_visible()
    assert {bars.nth(i).get_attribute("data-series") for i in range(bars.count())} == {
        "sms",
        "telegram",
        "chat",
        "email",
    }
    expect(board.locator("#chart-waiting svg polyline[data-series=billing]")).to_have_count(1)
    expect(board.locator("#chart-service_level svg circle.point").first).to_be_visible()

    # A contact queues: waiting goes up; an agent claims: it goes down, answered goes up.
    sms_customer(live_app, "+48600100300", "Faktura " + MARKUP)
    expect(total).to_have_text(str(waiting + 1))
    expect(row.locator(".waiting")).to_have_text(str(waiting + 1))
    status, _ = live_app.api("ola", "POST", "/api/claim", {})
    assert status == 200
    expect(total).to_have_text(str(waiting))
    expect(board.locator("#teams tr[data-team='*'] .answered")).to_have_text(str(answered + 1))
    expect(row.locator(".busy")).to_have_text("1")  # ola holds it

    # An incident opened from the form appears (as text), then closes from the page.
    board.select_option("#incident-team", "technical")
    board.fill("#incident-text", "Fibre outage in Kraków, repair expected by 16:00")
    board.click("#incident-form button[type=submit]")
    item = board.locator("#incidents li")
    expect(item.locator(".what")).to_have_text("Fibre outage in Kraków, repair expected by 16:00")
    expect(item.locator(".badge")).to_have_text("Technical support")
    expect(board.locator("#no-incidents")).to_be_hidden()
    _, incidents = live_app.api("ola", "GET", "/api/incidents")
    assert [(i["team"], i["closed_at"]) for i in incidents] == [("technical", None)]
    screenshot(board, "dashboard")

    board.select_option("#incident-team", "*")
    board.fill("#incident-text", "Marked up " + MARKUP)
    board.press("#incident-text", "Enter")
    expect(item.nth(1).locator(".what")).to_have_text("Marked up " + MARKUP)
    expect(item.nth(1).locator(".badge")).to_have_text("All teams")
    item.first.locator("button.close").click()
    expect(item).to_have_count(1)
    item.first.locator("button.close").click()
    expect(item).to_have_count(0)
    expect(board.locator("#no-incidents")).to_be_visible()
    _, incidents = live_app.api("ola", "GET", "/api/incidents")
    assert all(i["closed_at"] is not None for i in incidents) and len(incidents) == 2
    assert board.locator("#incidents img, #incidents script").count() == 0
    assert pwned(board) is None
    assert pages.errors == []
    eventually(lambda: board.locator("#conn").text_content() == "live")
