"""Written complaints over HTTP (``router.complaints``), public: no agent token.

- ``GET /complaint``: the form (static HTML and JS, pl/en/ru/he; Hebrew right to left).
- ``GET /api/complaints/form``: what the form offers: teams by language, ways of answer.
- ``POST /api/complaints``: a complaint (``ComplaintBody``) -> 201 ``{"number", "due_at",
  "due_date", "acknowledged_by"}`` (200 with the same answer for a resubmitted
  ``request_id``); 422 ``{"error", "fields": {name: reason}}`` for what is wrong; 429 with
  Retry-After past ``complaints.per_hour`` from one client address (counted in the store).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from importlib import resources
from typing import Annotated, Any

from aiohttp import web
from pydantic import BeforeValidator, Field, ValidationError, model_validator

from channels import BadInput, ClientAddresses, load_json
from queues import Channel
from router.complaints import (
    AnswerBy,
    Complaint,
    ComplaintDesk,
    FormOutbox,
    NoticeWatch,
)
from router.http.bodies import Body
from router.http.context import CONTEXT, Context
from router.http.errors import error_response

__all__ = ["COMPLAINTS", "ComplaintBody", "add_complaints"]

COMPLAINTS = web.AppKey("complaints", ComplaintDesk)
_WATCH = web.AppKey("complaint_watch", NoticeWatch)
_CLIENTS = web.AppKey("complaint_clients", ClientAddresses)
WINDOW_S = 3600.0
_STATIC = {
    "complaint.html": "text/html",
    "complaint.js": "text/javascript",
    "complaint.css": "text/css",
}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _phone(value: object) -> object:
    return re.sub(r"[\s().-]", "", value) if isinstance(value, str) else value


EMAIL = r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$"
Blank = BeforeValidator(_blank_is_none)  # a field left empty is absent
Email = Annotated[str, Field(pattern=EMAIL, max_length=320)]
PostalAddress = Annotated[str, Field(max_length=500)]
Short = Annotated[str, Field(max_length=200)]
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{8,64}$")]


class ComplaintBody(Body):
    """A complaint as the form posts it (DOMAIN.md: what a written complaint carries)."""

    full_name: Annotated[str, Field(min_length=3, max_length=200)]
    contract_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$")]
    phone: Annotated[str, BeforeValidator(_phone), Field(pattern=r"^\+?[0-9]{6,20}$")]
    email: Annotated[Email | None, Blank] = None
    postal_address: Annotated[PostalAddress | None, Blank] = None
    what_happened: Annotated[str, Field(min_length=10, max_length=20_000)]
    date_from: date
    date_to: Annotated[date | None, Blank] = None
    specialist: Annotated[Short | None, Blank] = None
    answer_by: AnswerBy
    topic: Annotated[Short | None, Blank] = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "pl"
    request_id: Annotated[RequestId | None, Blank] = None
    #: The holder confirms the details are true: a web form's stand-in for the signature.
    confirm: bool

    @model_validator(mode="after")
    def _complete(self) -> ComplaintBody:
        if not self.confirm:
            raise ValueError("confirm: the holder must confirm that the details are true")
        if self.answer_by is AnswerBy.EMAIL and not self.email:
            raise ValueError("email: an answer by email needs an email address")
        if self.answer_by is AnswerBy.LETTER and not self.postal_address:
            raise ValueError("postal_address: an answer by letter needs a postal address")
        if self.date_to is not None and self.date_to < self.date_from:
            raise ValueError("date_to: the period ends before it starts")
        return self


def _field_problems(exc: ValidationError) -> dict[str, str]:
    """Each field's problem; a whole-form check names its field before a colon."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(map(str, error["loc"]))
        message = str(error["msg"]).removeprefix("Value error, ")
        if not name and ": " in message:
            name, _, message = message.partition(": ")
        fields.setdefault(name or "body", message)
    return fields


def _checked(ctx: Context, body: ComplaintBody) -> dict[str, str]:
    """What the config decides: the language, the team, the text's length, the dates."""
    problems: dict[str, str] = {}
    supported = ctx.config.languages.supported
    if body.language not in supported:
        problems["language"] = f"{body.language!r} is not one of {', '.join(supported)}"
    if body.topic is not None and body.topic not in ctx.routing.teams:
        problems["topic"] = f"{body.topic!r} is not one of {', '.join(ctx.routing.teams)}"
    limit = ctx.config.complaints.max_text_chars
    if len(body.what_happened) > limit:
        problems["what_happened"] = f"{len(body.what_happened)} characters; at most {limit}"
    today = datetime.fromtimestamp(ctx.clock(), ctx.config.timezone).date()
    for name, day in (("date_from", body.date_from), ("date_to", body.date_to)):
        if day is not None and day > today:
            problems[name] = f"{day.isoformat()} is in the future; give the day it happened"
    return problems


def _complaint(body: ComplaintBody) -> Complaint:
    return Complaint(
        full_name=" ".join(body.full_name.split()),
        contract_number=body.contract_number,
        phone=body.phone,
        what_happened=body.what_happened.strip(),
        date_from=body.date_from,
        date_to=body.date_to,
        answer_by=body.answer_by,
        language=body.language,
        email=body.email.strip().lower() if body.email else None,
        postal_address=body.postal_address.strip() if body.postal_address else None,
        specialist=body.specialist.strip() if body.specialist else None,
        topic=body.topic,
        request_id=body.request_id,
    )


async def _too_many(ctx: Context, client: str) -> float | None:
    """Count this complaint from ``client``: None within the limit, else seconds to wait."""
    key, limit = f"complaint:ip:{client}", ctx.config.complaints.per_hour
    count = await ctx.store.record_hit(key, window_s=WINDOW_S, ttl_s=WINDOW_S)
    if count <= limit:
        return None
    times = await ctx.store.hits(key, window_s=WINDOW_S)
    if len(times) < limit:
        return 1.0
    return max(1.0, WINDOW_S - (ctx.clock() - times[-limit]))


async def submit(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        data: Any = load_json(await request.read())
        body = ComplaintBody.model_validate(data)
    except BadInput as exc:
        return error_response(400, str(exc))
    except ValidationError as exc:
        fields = _field_problems(exc)
        return error_response(422, "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    problems = _checked(ctx, body)
    if problems:
        reason = "; ".join(f"{k}: {v}" for k, v in problems.items())
        return error_response(422, reason, fields=problems)
    wait_s = await _too_many(ctx, request.app[_CLIENTS].of(request))
    if wait_s is not None:
        response = error_response(
            429, "too many complaints from this address; try again later", retry_after_s=wait_s
        )
        response.headers["Retry-After"] = str(int(wait_s + 0.999))
        return response
    receipt = await request.app[COMPLAINTS].submit(_complaint(body))
    return web.json_response(receipt.to_dict(), status=200 if receipt.duplicate else 201)


async def form(request: web.Request) -> web.Response:
    """What the page offers: the teams in every language, the ways of answer."""
    ctx = request.app[CONTEXT]
    teams = [{"id": name, "names": dict(team.names)} for name, team in ctx.config.teams.items()]
    return web.json_response(
        {
            "teams": teams,
            "answer_by": [str(a) for a in AnswerBy],
            "languages": list(ctx.config.languages.supported),
            "max_text_chars": ctx.config.complaints.max_text_chars,
            "due_business_days": ctx.config.sla.complaint_business_days,
        }
    )


def _file(name: str) -> web.Response:
    body = resources.files("router.complaints").joinpath("static", name).read_bytes()
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = _CSP
    return web.Response(body=body, content_type=_STATIC[name], charset="utf-8", headers=headers)


async def page(request: web.Request) -> web.Response:
    return _file("complaint.html")


async def asset(request: web.Request) -> web.Response:
    return _file(request.path.rsplit("/", 1)[-1])


def add_complaints(app: web.Application, *, watch: bool = True) -> None:
    """The form, its API and the delay notices (``watch``: the loop that sends them) on an
    app whose context is set; agents' replies to complaints go by email (``FormOutbox``)."""
    ctx = app[CONTEXT]
    settings = ctx.config.complaints
    desk = ComplaintDesk(
        store=ctx.store,
        routing=ctx.routing,
        accounts=ctx.accounts,
        courier=ctx.courier,
        keywords=ctx.config.book.keywords,
        team_names={name: dict(team.names) for name, team in ctx.config.teams.items()},
        timezone=ctx.config.timezone,
        clock=ctx.clock,
        notice_business_days=settings.notice_business_days,
        on_queued=ctx.desk.notify,
    )
    app[COMPLAINTS] = desk
    app[_CLIENTS] = ClientAddresses(ctx.config.http.trusted_proxies)
    app[_WATCH] = NoticeWatch(
        ctx.store, desk.notices, desk.send_notice, clock=ctx.clock, check_s=settings.check_s
    )
    ctx.courier.senders[Channel.FORM] = FormOutbox(ctx.courier.senders)
    app.router.add_get("/complaint", page)
    for name in _STATIC:
        if not name.endswith(".html"):
            app.router.add_get(f"/complaint/{name}", asset)
    app.router.add_get("/api/complaints/form", form)
    app.router.add_post("/api/complaints", submit)
    if watch:
        app.cleanup_ctx.append(_watching)


async def _watching(app: web.Application) -> AsyncIterator[None]:
    await app[_WATCH].start()
    yield
    await app[_WATCH].aclose()
