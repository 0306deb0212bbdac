"""Taking a written complaint: stored as a contact (channel ``form``), numbered, routed as a
complaint to its team, acknowledged with its due date; and its delay notice.

A complaint is one contact: the complaint as its first message, the form's fields in its
meta (``form``), its number in ``complaint_no``. It is queued at once (a web form has no
flow), on the team the holder picked or the text's keywords name (else the default team),
with the priority delay and due date ``Routing.decide`` gives a complaint (``sla:
complaint_business_days`` business days on the team's calendar). Every step is safe to
repeat: a resubmitted form (the same ``request_id``) finds its contact and finishes what
is left, and gets the same number and due date back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from channels import Courier, Reply
from ivr import Keywords, classify
from queues import (
    Channel,
    Contact,
    ContactState,
    Direction,
    Event,
    InvalidTransition,
    Message,
    Store,
)
from router.complaints.notices import NoticeBook
from router.complaints.numbers import Numbers
from router.complaints.record import Complaint, Receipt
from router.complaints.texts import ack_text, describe, notice_text, subject
from router.identity import Account, AccountDirectory
from router.routing import IncidentBook, Routing

__all__ = ["NOTICE_EVENT", "ComplaintDesk"]

log = structlog.get_logger(__name__)

#: The event on a complaint whose delay notice went (data ``sent_by``: email, sms or None).
NOTICE_EVENT = "complaint_notice"


def _folded(name: str) -> str:
    """A name compared loosely: case, accents and spacing aside."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


class ComplaintDesk:
    """Takes complaints and sends their delay notices."""

    def __init__(
        self,
        *,
        store: Store,
        routing: Routing,
        accounts: AccountDirectory,
        courier: Courier,
        keywords: Keywords,
        team_names: Mapping[str, Mapping[str, str]],
        timezone: ZoneInfo,
        clock: Callable[[], float],
        notice_business_days: int,
        on_queued: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._routing = routing
        self._accounts = accounts
        self._courier = courier
        self._keywords = keywords
        self._team_names = team_names
        self._tz = timezone
        self._clock = clock
        self._notice_days = notice_business_days
        self._on_queued = on_queued
        self._numbers = Numbers(store)
        self._incidents = IncidentBook(store)
        self.notices = NoticeBook(store)

    def _day(self, at: float) -> str:
        return datetime.fromtimestamp(at, self._tz).date().isoformat()

    def team_for(self, complaint: Complaint) -> str:
        if complaint.topic in self._routing.teams:
            return complaint.topic
        found = classify(complaint.what_happened, self._keywords).team
        return found or self._routing.default_team

    def _account(self, complaint: Complaint) -> Account | None:
        """The holder's account when the contract number and the name both match it
        (whether they do is never told to the sender)."""
        account = self._accounts.find(complaint.contract_number)
        if account is None or account.number != complaint.contract_number.strip():
            return None
        return account if _folded(account.name) == _folded(complaint.full_name) else None

    async def submit(self, complaint: Complaint) -> Receipt:
        """Store, number, route and acknowledge a complaint (once per ``request_id``)."""
        now = self._clock()
        team = self.team_for(complaint)
        team_name = self._team_names.get(team, {}).get(complaint.language, team)
        account = self._account(complaint)
        contact = Contact(
            channel=Channel.FORM,
            address=complaint.address,
            created_at=now,
            language=complaint.language,
            account=account.login if account else None,
            verify_method="form:number+name" if account else None,
            meta={"complaint": True, "form": complaint.form()},
        )
        first = Message(Direction.IN, describe(complaint, team_name), now)
        key = f"form:{complaint.request_id}" if complaint.request_id else None
        taken = await self._store.intake(contact, first, key=key)
        contact_id = taken.contact.id
        number = await self._numbers.of(contact_id, datetime.fromtimestamp(now, self._tz).year)
        current = await self._store.get_contact(contact_id, messages=False)
        if current.state is ContactState.IN_FLOW:
            current = await self._queue(current, complaint, number, team, account, now)
        if "notice_at" in current.meta and not current.state.is_final:
            # After the queue: a crash in between leaves a complaint an agent gets (without
            # its notice until it is resubmitted), never one indexed but never queued.
            await self.notices.add(contact_id, float(current.meta["notice_at"]))
        acknowledged = await self._acknowledge(current, complaint, number, first.text)
        due = current.sla_due if current.sla_due is not None else now
        log.info("complaint_taken", contact_id=contact_id, number=number, team=current.team)
        return Receipt(
            number=number,
            contact_id=contact_id,
            due_at=due,
            due_date=datetime.fromtimestamp(due, self._tz).date(),
            acknowledged_by=acknowledged,
            duplicate=taken.duplicate,
        )

    async def _queue(
        self,
        contact: Contact,
        complaint: Complaint,
        number: str,
        team: str,
        account: Account | None,
        at: float,
    ) -> Contact:
        """Route the complaint: due date, meta, the queue, its notice in the index."""
        decision = self._routing.decide(
            str(Channel.FORM),
            team,
            at=at,
            account=account,
            incidents=await self._incidents.load(),
            complaint=True,
        )
        hours = self._routing.hours[decision.team]
        days = self._routing.sla.complaint_business_days
        notice_at = hours.add_business_days(at, max(0, days - self._notice_days))
        title = subject(complaint.language, number)
        meta: dict[str, Any] = {
            "complaint_no": number,
            "notice_at": notice_at,
            # The subject agents' replies by email carry (channels.email reads meta["email"]).
            "email": {"subject": title},
        }
        await self._store.update_contact(
            contact.id, sla_due=decision.sla_due, meta_merge=meta, subject=title
        )
        try:
            queued = await self._store.enqueue(contact.id, decision.team, delay_s=decision.delay_s)
        except InvalidTransition:  # a resubmission queued it meanwhile
            return await self._store.get_contact(contact.id, messages=False)
        if self._on_queued is not None:
            await self._on_queued(decision.team)
        return queued

    async def _acknowledge(
        self, contact: Contact, complaint: Complaint, number: str, summary: str
    ) -> str | None:
        """Email the acknowledgement (once) when the holder gave an address."""
        if not complaint.email:
            return None
        language = complaint.language
        due = self._day(contact.sla_due) if contact.sla_due is not None else "?"
        body = ack_text(complaint, number, self._day(contact.created_at), due, summary)
        reply = Reply(
            contact_id=contact.id,
            channel=Channel.EMAIL,
            address=complaint.email,
            text=body,
            language=language,
            meta={"email": {"subject": subject(language, number)}},
            auto=True,
        )
        if await self._courier.post(f"complaint-ack:{contact.id}", reply, kind="auto"):
            note = Message(Direction.OUT, body, self._clock(), meta={"complaint_ack": "email"})
            await self._store.append_message(contact.id, note)
        return "email"

    async def send_notice(self, contact_id: str) -> bool:
        """The delay notice of a complaint still open (by email, else by SMS when the SMS
        channel runs); False when it is resolved or gone, or was sent before."""
        contact = await self._store.get_contact(contact_id, messages=False)
        if contact.state.is_final or contact.channel is not Channel.FORM:
            return False
        form: Mapping[str, Any] = contact.meta.get("form") or {}
        language = contact.language or "pl"
        number = str(contact.meta.get("complaint_no", ""))
        due = self._day(contact.sla_due) if contact.sla_due is not None else "?"
        body = notice_text(language, number, due)
        channel, address = self._notice_route(form)
        sent_by = str(channel) if channel is not None else None
        if channel is not None and address:
            reply = Reply(
                contact_id=contact.id,
                channel=channel,
                address=address,
                text=body,
                language=language,
                meta={"email": {"subject": subject(language, number)}},
                auto=True,
            )
            if not await self._courier.post(f"complaint-notice:{contact.id}", reply, kind="auto"):
                return False
            note = Message(Direction.OUT, body, self._clock(), meta={"complaint_notice": sent_by})
            await self._store.append_message(contact.id, note)
        data = {"sent_by": sent_by}  # None: nothing could send it; the agent calls or writes
        await self._store.add_event(
            Event(contact.id, NOTICE_EVENT, self._clock(), team=contact.team, data=data)
        )
        log.info("complaint_notice", contact_id=contact.id, number=number, sent_by=sent_by)
        return sent_by is not None

    def _notice_route(self, form: Mapping[str, Any]) -> tuple[Channel | None, str | None]:
        if form.get("email"):
            return Channel.EMAIL, str(form["email"])
        if form.get("phone") and Channel.SMS in self._courier.senders:
            return Channel.SMS, str(form["phone"])
        return None, None
