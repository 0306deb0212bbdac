"""Outage compensation over HTTP (``Authorization: Bearer TOKEN``), and in the console.

- ``GET /api/incidents/{id}/compensation[?accounts=a,b][&services=internet,...]
  [&format=json|csv]`` (or ``Accept: text/csv``)
- ``POST /api/incidents/{id}/compensation {"accounts": [...], "services": [...]}``

The accounts an incident affected are those of the verified contacts linked to it
(``router.outages``) and those the operator names. For each, every service type it has
(or those asked for) is computed by ``router.routing.compensate``: the interruption is the
incident's time open (an open incident up to now, and the answer says ``provisional``), and
an earlier incident counts towards the same billing periods when the account has a contact
linked to it. Unknown logins are listed in ``errors``; an unknown incident is 404.

Who reads it (``router.http.access``): the accounts of the linked contacts the agent may
read, and those the operator names; a linked contact of a team the agent does not serve
is left out (counted in ``unreadable_contacts``), so a supervisor, or an agent serving
every team, gets the whole report.

``contact_compensation`` is what the agent console shows for a verified customer: the
same computation for each incident the contact is linked to, or open on its team.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import Field, ValidationError

from queues import Contact, to_iso
from router.http.access import may_read
from router.http.auth import require_agent
from router.http.bodies import Body, read_body
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import refuse
from router.identity import Account, ServiceType, fee_table, period_bounds, period_of
from router.outages import incident_of, linked_contacts
from router.routing import ALL_TEAMS, Compensation, Incident, Incidents, Interruption, compensate

__all__ = [
    "CSV_COLUMNS",
    "CompensationBody",
    "add_compensation_routes",
    "contact_compensation",
    "incident_compensation",
    "to_csv",
]

CSV_COLUMNS = ("login", "service", "hours", "days", "rule", "amount_pln")
MAX_ACCOUNTS = 10_000


class CompensationBody(Body):
    accounts: list[str] = Field(default_factory=list, max_length=MAX_ACCOUNTS)
    services: list[ServiceType] | None = None


# -- the computation ---------------------------------------------------------------------------
def _until(incident: Incident, now: float) -> float:
    return incident.closed_at if incident.closed_at is not None else max(now, incident.opened_at)


async def _earlier(
    ctx: Context, book: Incidents, incident: Incident, *, now: float
) -> dict[str, list[Interruption]]:
    """Login -> the interruptions of earlier incidents in the billing periods ``incident``
    touches, for the accounts with a verified contact linked to them."""
    zone = str(ctx.config.timezone)
    start = period_bounds(period_of(incident.opened_at, zone), zone)[0]
    end = period_bounds(period_of(_until(incident, now), zone), zone)[1]
    found: dict[str, list[Interruption]] = {}
    for other in book.items:
        other_end = _until(other, now)
        if (other.opened_at, other.id) >= (incident.opened_at, incident.id):
            continue
        if other_end <= start or other.opened_at >= end:
            continue
        span = Interruption(other.id, other.opened_at, other_end)
        for login in {c.account for c in await linked_contacts(ctx.store, other.id) if _ok(c)}:
            found.setdefault(str(login), []).append(span)
    return found


def _ok(contact: Contact) -> bool:
    return contact.verified and bool(contact.account)


def account_compensation(
    account: Account,
    incident: Incident,
    earlier: Iterable[Interruption],
    *,
    now: float,
    zone: str,
    services: Sequence[ServiceType] | None = None,
) -> list[Compensation]:
    """What ``incident`` makes due for each service type of ``account`` (or ``services``)."""
    table = fee_table(account.fees)
    spans = [Interruption(incident.id, incident.opened_at, _until(incident, now)), *earlier]
    kinds = [t for t in account.service_types if services is None or t in services]
    return [
        compensate(t, table.get(t, {}), spans, incident_id=incident.id, zone=zone) for t in kinds
    ]


def _account_row(
    account: Account, lines: list[Compensation], sources: list[str], contacts: list[str]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "login": account.login,
        "name": account.name,
        "sources": sources,
        "contacts": contacts,
        "service_types": [str(t) for t in account.service_types],
        "services": [line.to_dict() for line in lines],
        "amount_pln": str(sum((line.amount_pln for line in lines), Decimal("0.00"))),
    }
    if not lines:
        row["note"] = "no universal, telephone or internet service (of those asked): nothing due"
    return row


async def incident_compensation(
    ctx: Context,
    incident_id: str,
    *,
    logins: Sequence[str] = (),
    services: Sequence[ServiceType] | None = None,
    readable: Callable[[Contact], bool] | None = None,
) -> dict[str, Any]:
    """The compensation report of one incident (``UnknownIncident`` when there is none);
    with ``readable``, only the linked contacts it lets through are counted."""
    book = await ctx.service.incidents.load()
    incident = book.get(incident_id)
    now, zone = ctx.clock(), str(ctx.config.timezone)
    await ctx.accounts.refresh()
    sources: dict[str, list[str]] = {}
    contacts: dict[str, list[str]] = {}
    unverified = unreadable = 0
    for contact in await linked_contacts(ctx.store, incident.id):
        if not _ok(contact):
            unverified += 1
            continue
        if readable is not None and not readable(contact):
            unreadable += 1
            continue
        login = str(contact.account)
        sources.setdefault(login, ["linked"])
        contacts.setdefault(login, []).append(contact.id)
    errors: list[dict[str, str]] = []
    for given in dict.fromkeys(logins):
        account = ctx.accounts.find(given)
        if account is None:
            errors.append({"login": given, "error": f"no account has login {given!r}"})
        elif "operator" not in sources.setdefault(account.login, []):
            sources[account.login].append("operator")
    earlier = await _earlier(ctx, book, incident, now=now)
    rows = []
    for login, how in sources.items():
        account = ctx.accounts.find(login)
        if account is None:  # a linked contact's account was deleted since
            errors.append({"login": login, "error": f"no account has login {login!r}"})
            continue
        lines = account_compensation(
            account, incident, earlier.get(login, ()), now=now, zone=zone, services=services
        )
        rows.append(_account_row(account, lines, how, contacts.get(login, [])))
    until = _until(incident, now)
    return {
        "incident": incident.to_dict(),
        "provisional": incident.closed_at is None,
        "computed_at": to_iso(now),
        "interrupted_from": to_iso(incident.opened_at),
        "interrupted_until": to_iso(until),
        "hours": round((until - incident.opened_at) / 3600, 2),
        "accounts": rows,
        "total_pln": str(sum((Decimal(r["amount_pln"]) for r in rows), Decimal("0.00"))),
        "errors": errors,
        "unverified_contacts": unverified,
        "unreadable_contacts": unreadable,
    }


async def contact_compensation(ctx: Context, contact: Contact) -> list[dict[str, Any]]:
    """For a verified contact: what each incident it is linked to, or that is open on its
    team, makes due to its account (empty when nothing applies)."""
    account = ctx.accounts.find(contact.account) if _ok(contact) and contact.account else None
    if account is None or not account.service_types:
        return []
    book = await ctx.service.incidents.load()
    if not book.items:
        return []
    now, zone = ctx.clock(), str(ctx.config.timezone)
    linked = await incident_of(ctx.store, contact.id)
    shown = []
    for incident in book.items:
        on_team = incident.team in (ALL_TEAMS, contact.team) and (
            incident.is_open() or incident.is_open(contact.created_at)
        )
        if incident.id != linked and not on_team:
            continue
        earlier = (await _earlier(ctx, book, incident, now=now)).get(account.login, ())
        lines = account_compensation(account, incident, earlier, now=now, zone=zone)
        shown.append(
            {
                "incident": incident.id,
                "text": incident.text,
                "linked": incident.id == linked,
                "provisional": incident.closed_at is None,
                "amount_pln": str(sum((x.amount_pln for x in lines), Decimal("0.00"))),
                "services": [line.to_dict() for line in lines],
            }
        )
    return shown


# -- HTTP --------------------------------------------------------------------------------------
def _cell(value: object) -> str:
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula; operator-typed logins may.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: dict[str, Any]) -> str:
    """The report as CSV: one row per account and service type, then the errors."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report["accounts"]:
        if not row["services"]:
            writer.writerow([_cell(row["login"]), "", "0.00", 0, "none", "0.00"])
        for line in row["services"]:
            hours = f"{line['hours']:.2f}"
            writer.writerow(
                [
                    _cell(row["login"]),
                    line["service"],
                    hours,
                    line["days"],
                    line["rule"],
                    line["amount_pln"],
                ]
            )
    for error in report["errors"]:
        writer.writerow([_cell(error["login"]), "", "", "", _cell("error: " + error["error"]), ""])
    return out.getvalue()


def _query_body(request: web.Request) -> CompensationBody:
    def listed(name: str) -> list[str]:
        return [v.strip() for v in request.query.get(name, "").split(",") if v.strip()]

    data: dict[str, Any] = {"accounts": listed("accounts")}
    if "services" in request.query:
        data["services"] = listed("services")
    try:
        return CompensationBody.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise refuse(422, "; ".join(problems)) from None


def _wants_csv(request: web.Request) -> bool:
    chosen = request.query.get("format")
    if chosen is not None and chosen not in ("json", "csv"):
        raise refuse(400, f"format must be json or csv, not {chosen!r}")
    if chosen is not None:
        return chosen == "csv"
    accept = request.headers.get("Accept", "")
    return "text/csv" in accept and "application/json" not in accept


@require_agent
async def compensation(request: web.Request) -> web.Response:
    ctx, agent = request.app[CONTEXT], request[AGENT]
    csv_wanted = _wants_csv(request)
    if request.method == "POST":
        body = await read_body(request, CompensationBody)
    else:
        body = _query_body(request)
    supervisors, teams = ctx.config.agents.supervisors, ctx.routing.teams
    report = await incident_compensation(
        ctx,
        request.match_info["id"],
        logins=body.accounts,
        services=body.services,
        readable=lambda contact: may_read(agent, contact, supervisors, teams),
    )
    if not csv_wanted:
        return web.json_response(report)
    return web.Response(
        text=to_csv(report),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="compensation-{report["incident"]["id"]}.csv"'
            ),
            "X-Provisional": "true" if report["provisional"] else "false",
        },
    )


def add_compensation_routes(app: web.Application) -> None:
    app.router.add_get("/api/incidents/{id}/compensation", compensation)
    app.router.add_post("/api/incidents/{id}/compensation", compensation)
