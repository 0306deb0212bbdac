"""GET/POST /api/incidents/{id}/compensation on every store backend: linked and listed
accounts, JSON and CSV, open incidents, unknown logins and incidents, and the contact view."""

from __future__ import annotations

import csv
import io
from typing import Any

from queues import Channel
from router.http.compensation_api import CSV_COLUMNS
from router.outages.links import link
from tests.router.conftest import Desk

H = 3600.0
#: Internet 60.00 and telephone 30.00 a month, billed for the fake clock's months.
EWA_FEES = "internet:2026-10=60.00;internet:2026-11=60.00;telephone:2026-11=30.00"


async def add_account(
    desk: Desk, login: str, number: str, code: str, services: str, fees: str = ""
) -> None:
    account = desk.ctx.accounts.build(
        login, number, code, name=login.title(), services=services, fees=fees
    )
    await desk.ctx.accounts.add_all([account])


async def verified_contact(desk: Desk, address: str, login: str, code: str) -> str:
    sms = desk.channels[Channel.SMS]
    await sms.say(address, "nie działa internet")
    answer = await sms.say(address, f"{login} {code}")
    return answer.contact.id


async def open_incident(desk: Desk, team: str = "technical") -> str:
    status, body = await desk.api(
        "ania", "POST", "/api/incidents", {"team": team, "text": "Awaria"}
    )
    assert status == 201
    return str(body["id"])


async def link_contact(desk: Desk, incident_id: str, contact_id: str) -> None:
    incident = (await desk.ctx.service.incidents.load()).get(incident_id)
    contact = await desk.ctx.store.get_contact(contact_id, messages=False)
    await link(desk.ctx.store, incident, contact, at=desk.clock())


async def ewa_hit_by(desk: Desk, hours: float, *, close: bool = True) -> tuple[str, str]:
    """Ewa (internet + telephone) writes in, is linked to a new incident lasting ``hours``."""
    await add_account(desk, "ewa.kowal", "4004", "246810", "internet-600;voip-home", EWA_FEES)
    incident_id = await open_incident(desk)
    contact_id = await verified_contact(desk, "+48600000044", "ewa.kowal", "246810")
    await link_contact(desk, incident_id, contact_id)
    desk.clock.advance(hours * H)
    if close:
        status, _ = await desk.api("ania", "DELETE", f"/api/incidents/{incident_id}")
        assert status == 200
    return incident_id, contact_id


def by_service(report: dict[str, Any], login: str) -> dict[str, dict[str, Any]]:
    (row,) = [r for r in report["accounts"] if r["login"] == login]
    return {s["service"]: s for s in row["services"]}


async def test_a_closed_incident_pays_each_service_of_a_linked_verified_account(
    desk: Desk,
) -> None:
    incident_id, contact_id = await ewa_hit_by(desk, 14)
    status, report = await desk.api("ania", "GET", f"/api/incidents/{incident_id}/compensation")
    assert status == 200
    assert report["provisional"] is False and report["hours"] == 14.0
    (row,) = report["accounts"]
    assert row["login"] == "ewa.kowal" and row["sources"] == ["linked"]
    assert row["contacts"] == [contact_id]
    lines = by_service(report, "ewa.kowal")
    # over 12 h: one day each, 60.00 / 30 and 30.00 / 30
    assert {k: (v["days"], v["amount_pln"], v["rule"]) for k, v in lines.items()} == {
        "telephone": (1, "1.00", "telephone-1/30"),
        "internet": (1, "2.00", "internet-1/30"),
    }
    assert lines["internet"]["hours"] == 14.0 and lines["internet"]["duration"] == "14:00:00"
    assert row["amount_pln"] == "3.00" and report["total_pln"] == "3.00"
    assert report["errors"] == [] and report["unverified_contacts"] == 0


async def test_an_open_incident_is_computed_up_to_now_and_provisional(desk: Desk) -> None:
    incident_id, _ = await ewa_hit_by(desk, 12, close=False)
    path = f"/api/incidents/{incident_id}/compensation"
    status, report = await desk.api("ania", "GET", path)
    assert status == 200 and report["provisional"] is True
    assert by_service(report, "ewa.kowal")["internet"]["days"] == 0  # 12:00:00, not over
    assert report["total_pln"] == "0.00"
    desk.clock.advance(1)
    _, report = await desk.api("ania", "GET", path)
    assert by_service(report, "ewa.kowal")["internet"]["amount_pln"] == "2.00"
    assert report["provisional"] is True and report["total_pln"] == "3.00"


async def test_an_unknown_incident_is_404(desk: Desk) -> None:
    status, body = await desk.api("ania", "GET", "/api/incidents/nope/compensation")
    assert status == 404 and "nope" in body["error"]
    status, _ = await desk.api("ania", "POST", "/api/incidents/nope/compensation", {})
    assert status == 404


async def test_it_needs_an_agent_token(desk: Desk) -> None:
    resp = await desk.client.get("/api/incidents/x/compensation")
    assert resp.status == 401


async def test_operator_listed_accounts_are_computed_and_unknown_logins_are_errors(
    desk: Desk,
) -> None:
    await add_account(desk, "ola.tel", "5005", "135791", "phone-basic", "telephone:2026-11=45.00")
    incident_id = await open_incident(desk)
    desk.clock.advance(25 * H)
    path = f"/api/incidents/{incident_id}/compensation"
    status, report = await desk.api("ania", "GET", path + "?accounts=ola.tel,nobody,5005")
    assert status == 200
    (row,) = report["accounts"]  # "5005" is ola.tel's customer number: listed once
    assert row["login"] == "ola.tel" and row["sources"] == ["operator"]
    assert by_service(report, "ola.tel")["telephone"]["days"] == 2  # 25 h: two started days
    assert by_service(report, "ola.tel")["telephone"]["amount_pln"] == "3.00"
    assert report["errors"] == [{"login": "nobody", "error": "no account has login 'nobody'"}]
    status, posted = await desk.api("ania", "POST", path, {"accounts": ["ola.tel", "nobody"]})
    assert status == 200
    assert posted["accounts"] == report["accounts"] and posted["errors"] == report["errors"]


async def test_an_account_without_a_telecom_service_is_due_nothing(desk: Desk) -> None:
    incident_id = await open_incident(desk)
    desk.clock.advance(40 * H)
    status, report = await desk.api(
        "ania", "GET", f"/api/incidents/{incident_id}/compensation?accounts=firma.nowak"
    )
    assert status == 200
    (row,) = report["accounts"]
    assert row["services"] == [] and row["amount_pln"] == "0.00" and "nothing due" in row["note"]


async def test_services_narrow_what_is_computed(desk: Desk) -> None:
    incident_id, _ = await ewa_hit_by(desk, 14)
    path = f"/api/incidents/{incident_id}/compensation"
    _, report = await desk.api("ania", "GET", path + "?services=internet")
    assert list(by_service(report, "ewa.kowal")) == ["internet"]
    _, report = await desk.api("ania", "POST", path, {"services": ["telephone"]})
    assert list(by_service(report, "ewa.kowal")) == ["telephone"]
    status, body = await desk.api("ania", "GET", path + "?services=fax")
    assert status == 422 and "services" in body["error"]
    status, body = await desk.api("ania", "POST", path, {"acounts": []})
    assert status == 422 and "acounts" in body["error"]
    status, body = await desk.api("ania", "GET", path + "?format=xml")
    assert status == 400 and "xml" in body["error"]


async def test_csv_by_query_or_accept_header(desk: Desk) -> None:
    incident_id, _ = await ewa_hit_by(desk, 14)
    path = f"/api/incidents/{incident_id}/compensation"
    by_query = await desk.client.get(
        path + "?format=csv&accounts=firma.nowak,=cmd", headers=desk.auth("ania")
    )
    assert by_query.status == 200 and by_query.content_type == "text/csv"
    assert by_query.headers["X-Provisional"] == "false"
    assert incident_id in by_query.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await by_query.text())))
    assert rows == [
        list(CSV_COLUMNS),
        ["ewa.kowal", "telephone", "14.00", "1", "telephone-1/30", "1.00"],
        ["ewa.kowal", "internet", "14.00", "1", "internet-1/30", "2.00"],
        ["firma.nowak", "", "0.00", "0", "none", "0.00"],
        # a spreadsheet must not run what an operator typed
        ["'=cmd", "", "", "", "error: no account has login '=cmd'", ""],
    ]
    by_accept = await desk.client.get(path, headers={**desk.auth("ania"), "Accept": "text/csv"})
    assert by_accept.content_type == "text/csv"
    assert (await by_accept.text()).splitlines()[:3] == (await by_query.text()).splitlines()[:3]
    as_json = await desk.client.get(
        path + "?format=json", headers={**desk.auth("ania"), "Accept": "text/csv"}
    )
    assert as_json.content_type == "application/json"


async def test_unverified_linked_contacts_are_counted_not_paid(desk: Desk) -> None:
    incident_id = await open_incident(desk)
    sms = desk.channels[Channel.SMS]
    answer = await sms.say("+48600000077", "nie działa internet")
    await link_contact(desk, incident_id, answer.contact.id)
    desk.clock.advance(20 * H)
    _, report = await desk.api("ania", "GET", f"/api/incidents/{incident_id}/compensation")
    assert report["accounts"] == [] and report["unverified_contacts"] == 1


async def test_an_earlier_incident_of_the_same_account_counts_towards_the_period(
    desk: Desk,
) -> None:
    first, contact_id = await ewa_hit_by(desk, 7)
    desk.clock.advance(24 * H)
    second = await open_incident(desk)
    await link_contact(desk, second, contact_id)
    desk.clock.advance(7 * H)
    await desk.api("ania", "DELETE", f"/api/incidents/{second}")
    _, one = await desk.api("ania", "GET", f"/api/incidents/{first}/compensation")
    _, two = await desk.api("ania", "GET", f"/api/incidents/{second}/compensation")
    assert by_service(one, "ewa.kowal")["internet"]["days"] == 0  # 7 h alone
    internet = by_service(two, "ewa.kowal")["internet"]
    # 7 h + 7 h = 14 h in November: over 12 h, the day is due to the second incident
    assert internet["days"] == 1 and internet["amount_pln"] == "2.00"
    assert internet["periods"][0]["period_hours"] == 14.0


async def test_the_contact_view_shows_a_verified_customer_what_is_due(desk: Desk) -> None:
    incident_id, contact_id = await ewa_hit_by(desk, 14, close=False)
    status, view = await desk.api("ania", "GET", f"/api/contacts/{contact_id}")
    assert status == 200
    (due,) = view["compensation"]
    assert due["incident"] == incident_id and due["linked"] is True
    assert due["provisional"] is True and due["amount_pln"] == "3.00"
    # an unverified customer on the same team is shown nothing
    sms = desk.channels[Channel.SMS]
    answer = await sms.say("+48600000088", "nie działa internet")
    _, other = await desk.api("ania", "GET", f"/api/contacts/{answer.contact.id}")
    assert other["compensation"] == []


async def test_the_contact_view_counts_an_incident_open_on_the_customers_team(
    desk: Desk,
) -> None:
    await add_account(desk, "ewa.kowal", "4004", "246810", "internet-600", EWA_FEES)
    incident_id = await open_incident(desk, "*")  # affects every team: new contacts link
    desk.clock.advance(13 * H)
    contact_id = await verified_contact(desk, "+48600000099", "ewa.kowal", "246810")
    _, view = await desk.api("ania", "GET", f"/api/contacts/{contact_id}")
    (due,) = view["compensation"]
    assert due["incident"] == incident_id and due["linked"] is True
    assert due["amount_pln"] == "2.00"
