"""Surveys and first-contact resolution as pure steps, for the stores that run them in
Python (memory, sqlite); the Redis store runs the same as Lua (``lua/survey.lua``,
``lua/fcr.lua``).

Each step returns the event to record on the contact (its team's bucket counts it:
``queues/buckets.py``), or None when it was recorded already, so a retried call changes
nothing.

First-contact resolution is counted without reading history: a resolve of a verified
customer's contact counts once (``fcr_counted``) and leaves a *watch* on (team, account):
the contact's id and the time. A new contact from that account queued on that team while
the watch is younger than the window counts once as a repeat (``fcr_repeat``) and ends the
watch. FCR over a window is then 1 - repeats / resolves counted in it (``router.stats``).
"""

from __future__ import annotations

from collections.abc import Collection

from queues import transitions
from queues.errors import InvalidTransition
from queues.models import Contact, ContactState, Event

__all__ = ["SCORES", "check_score", "fcr_arrived", "fcr_resolved", "survey"]

#: The answers a CSAT question takes.
SCORES = range(1, 6)


def check_score(score: int | None) -> None:
    """Refuse (ValueError) a score that is not a whole number 1-5."""
    if score is None:
        return
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise ValueError(f"survey score {score!r} is not one of 1-5; give a whole number 1-5")


def survey(contact: Contact, kinds: Collection[str], score: int | None, now: float) -> Event | None:
    """The survey event for ``contact`` (asked, or answered with ``score``), or None when
    its history (``kinds``) has it already. A contact never queued has no team to count in."""
    check_score(score)
    if contact.team is None:
        raise InvalidTransition(contact.id, contact.state, "survey")
    kind = "survey_asked" if score is None else "survey_answered"
    if kind in kinds:
        return None
    data = {} if score is None else {"score": score}
    return transitions.event(contact, kind, now, **data)


def fcr_resolved(contact: Contact, kinds: Collection[str], now: float) -> Event | None:
    """``fcr_counted`` for a resolved contact, or None when it was counted already."""
    if contact.state is not ContactState.RESOLVED or contact.team is None:
        raise InvalidTransition(contact.id, contact.state, "count a first-contact resolution")
    if "fcr_counted" in kinds:
        return None
    return transitions.event(contact, "fcr_counted", now)


def fcr_arrived(
    contact: Contact,
    kinds: Collection[str],
    watch: tuple[str, float] | None,
    now: float,
    within_s: float,
) -> Event | None:
    """``fcr_repeat`` when the team's ``watch`` of the contact's account (the resolved
    contact's id, when) is another contact's and younger than ``within_s``; else None."""
    if contact.team is None:
        raise InvalidTransition(contact.id, contact.state, "count a repeat contact")
    if "fcr_repeat" in kinds or watch is None:
        return None
    watched, at = watch
    if watched == contact.id or now - at >= within_s:
        return None
    return transitions.event(contact, "fcr_repeat", now, agent=None, of=watched)
