"""The written complaint page (``/complaint``) in a real browser (Debian's chromium through
Playwright) against the real app: filled in, sent, acknowledged with the number and the due
date; refused field by field; in Hebrew right to left; markup shown as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveApp, Pages
from tests.web.conftest_pages import MARKUP, pwned

Shot = Callable[[Page, str], Path]


def open_form(pages: Pages, app: LiveApp, lang: str = "en", **options: Any) -> Page:
    page = pages.new(**options)
    page.goto(f"{app.url}/complaint?lang={lang}")
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator("#topic option")).to_have_count(4)  # "not sure" and the teams
    return page


def fill(page: Page, **changes: str) -> None:
    fields = {
        "#full_name": "Jan Kowalski",
        "#contract_number": "1001",
        "#phone": "+48 500 100 200",
        "#email": "jan@example.net",
        "#date_from": "2026-11-10",
        "#what_happened": "The connection drops every hour since 10 November.",
    }
    fields.update({f"#{k}": v for k, v in changes.items()})
    for selector, value in fields.items():
        page.fill(selector, value)


def form_contacts(app: LiveApp) -> list[dict[str, Any]]:
    status, listed = app.api("ania", "GET", "/api/contacts?channel=form")
    assert status == 200
    return list(listed)


def test_a_complaint_is_sent_and_acknowledged(
    pages: Pages, live_app: LiveApp, screenshot: Shot
) -> None:
    page = open_form(pages, live_app)
    expect(page.locator("#intro")).to_contain_text("within 14 business days")
    fill(page, specialist="Tomek")
    page.select_option("#topic", "technical")
    page.check("#confirm")
    page.click("#submit")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#complaint-form")).to_be_hidden()
    expect(page.locator("#receipt-number")).to_have_text("2026/00001")
    expect(page.locator("#receipt-due")).to_have_attribute("title", "2026-12-08")
    expect(page.locator("#receipt-due")).to_have_text("December 8, 2026")
    expect(page.locator("#receipt-ack")).to_have_text(
        "We have sent a confirmation to jan@example.net."
    )
    screenshot(page, "complaint-receipt")
    [contact] = form_contacts(live_app)
    assert contact["team"] == "technical" and contact["state"] == "waiting"
    assert contact["meta"]["form"]["specialist"] == "Tomek"
    assert contact["meta"]["form"]["phone"] == "+48500100200"
    assert pages.errors == []


def test_what_is_missing_is_marked_before_anything_is_sent(pages: Pages, live_app: LiveApp) -> None:
    page = open_form(pages, live_app)
    page.click("#submit")
    expect(page.locator("#error")).to_have_text("Please correct the marked fields.")
    for field in ("full_name", "contract_number", "phone", "what_happened", "confirm"):
        expect(page.locator(f"#{field}-problem")).to_be_visible()
    expect(page.locator("#full_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#full_name")).to_be_focused()
    fill(page, email="")
    page.check("#confirm")
    page.click("#submit")
    expect(page.locator("#email-problem")).to_have_text("Give an email to get the answer by email.")
    page.check("input[name=answer_by][value=letter]")
    page.click("#submit")
    expect(page.locator("#postal_address-problem")).to_be_visible()
    assert form_contacts(live_app) == []
    page.fill("#postal_address", "ul. Kwiatowa 5, 00-001 Warszawa")
    page.click("#submit")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt-ack")).to_be_hidden()  # no email: no confirmation sent
    assert pages.errors == []


def test_the_server_refusal_is_shown_at_its_field(pages: Pages, live_app: LiveApp) -> None:
    page = open_form(pages, live_app)
    fill(page, date_from="2026-11-30")  # after the desk's today (the app's clock): refused there
    page.check("#confirm")
    page.click("#submit")
    expect(page.locator("#date_from-problem")).to_contain_text("in the future")
    expect(page.locator("#error")).to_be_visible()
    assert form_contacts(live_app) == []


def test_hebrew_reads_right_to_left(pages: Pages, live_app: LiveApp, screenshot: Shot) -> None:
    page = open_form(pages, live_app, lang="he", viewport={"width": 390, "height": 844})
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "he")
    expect(page.locator("#title")).to_have_text("תלונה")
    expect(page.locator("#topic option[value=billing]")).to_have_text("חשבונות")
    screenshot(page, "complaint-he")
    page.select_option("#language", "pl")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("#submit")).to_have_text("Wyślij reklamację")
    expect(page.locator("#topic option[value=billing]")).to_have_text("Rozliczenia")
    assert pages.errors == []


def test_markup_is_only_ever_text(pages: Pages, live_app: LiveApp) -> None:
    page = open_form(pages, live_app)
    fill(page, full_name=MARKUP[:200], what_happened=MARKUP)
    page.check("#confirm")
    page.click("#submit")
    expect(page.locator("#receipt")).to_be_visible()
    assert pwned(page) is None
    [contact] = form_contacts(live_app)
    assert contact["meta"]["form"]["full_name"] == MARKUP[:200]
    assert pages.errors == []


def test_a_send_that_fails_can_be_sent_again_once(pages: Pages, live_app: LiveApp) -> None:
    page = open_form(pages, live_app)
    fill(page)
    page.check("#confirm")
    failures = {"left": 1}

    def flaky(route: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            route.fetch()  # the complaint reaches the server, the answer never arrives
            route.abort()
            return
        route.continue_()

    page.route("**/api/complaints", flaky)
    page.click("#submit")
    expect(page.locator("#error")).to_contain_text("could not be sent")
    page.click("#submit")
    expect(page.locator("#receipt-number")).to_have_text("2026/00001")
    assert len(form_contacts(live_app)) == 1  # the same request id: stored once
