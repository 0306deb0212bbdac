"""A written complaint as the form sends it, and what the desk answers at once.

DOMAIN.md lists what a written complaint carries: the contract holder's full name, the
contract number, a contact phone, what happened, the date or period, the specialist who
handled it, and the preferred way of answer. A web form has no handwritten signature: the
holder confirms instead that the details are true (``Complaint`` is only built then). Fax,
the last of the ways of answer DOMAIN.md lists, is left out: nothing here sends one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from queues import to_iso

__all__ = ["AnswerBy", "Complaint", "Receipt"]


class AnswerBy(StrEnum):
    LETTER = "letter"
    EMAIL = "email"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint as submitted (validated at the edge, ``router.http``)."""

    full_name: str
    contract_number: str
    phone: str
    what_happened: str
    date_from: date
    answer_by: AnswerBy
    language: str
    date_to: date | None = None
    email: str | None = None
    postal_address: str | None = None
    specialist: str | None = None
    topic: str | None = None  # a team, or None: the text's keywords decide
    request_id: str | None = None  # the page's: a resubmitted form stores one complaint

    @property
    def address(self) -> str:
        """Where the desk reaches the holder in writing first: the email, else the phone."""
        return self.email or self.phone

    def form(self) -> dict[str, Any]:
        """The form's fields as the contact's meta keeps them (``meta["form"]``)."""
        return {
            "full_name": self.full_name,
            "contract_number": self.contract_number,
            "phone": self.phone,
            "email": self.email,
            "postal_address": self.postal_address,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "specialist": self.specialist,
            "answer_by": str(self.answer_by),
            "topic": self.topic,
        }


@dataclass(frozen=True, slots=True)
class Receipt:
    """The acknowledgement: the complaint's number and when it is answered at the latest."""

    number: str
    contact_id: str
    due_at: float
    due_date: date  # the due day on the desk's calendar
    acknowledged_by: str | None  # "email" when an acknowledgement was sent, else None
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "due_at": to_iso(self.due_at),
            "due_date": self.due_date.isoformat(),
            "acknowledged_by": self.acknowledged_by,
        }
