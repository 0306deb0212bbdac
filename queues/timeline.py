"""Agents' notes and tags on a contact (``Store.annotate``): what every backend writes in
its own atomic step.

Both live in the contact's meta, so a customer's timeline (``list_contacts(account=...)``,
one indexed read) carries them with no further read, and an erase (``erase_contact``)
clears them with the rest of what the customer said: ``meta["notes"]`` is a list of notes,
oldest first, each ``{"id", "text", "agent", "at"}`` (``at`` ISO-8601); ``meta["tags"]`` a
sorted list of short lowercase words. ``annotate`` changes those two keys and no other, in
one step, so two agents noting the same contact at once both keep their note.

Pure: a backend reads the meta, asks here for the new one (or, on Redis, does the same in
its script), and writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_NOTES",
    "MAX_NOTE_CHARS",
    "MAX_TAGS",
    "NOTES",
    "TAGS",
    "TAG_PATTERN",
    "NotesFull",
    "annotated",
    "check_note",
    "clean_tags",
]

NOTES = "notes"
TAGS = "tags"
#: The most notes one contact keeps: a note is a line for the next agent, not a diary.
MAX_NOTES = 100
MAX_NOTE_CHARS = 2000
MAX_TAGS = 20
#: A tag: 1-32 lowercase letters (any script), digits, ``-`` or ``_``.
TAG_PATTERN = re.compile(r"[^\W_A-Z][\w-]{0,31}", re.UNICODE)
_NOTE_KEYS = frozenset({"id", "text", "agent", "at"})


class NotesFull(ValueError):
    """The contact keeps ``MAX_NOTES`` notes already."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(
            f"contact {contact_id} has {MAX_NOTES} notes, the most one contact keeps; "
            "put what matters in one of them"
        )
        self.contact_id = contact_id


def check_note(note: Mapping[str, Any]) -> None:
    """Refuse (ValueError) a note that is not ``{"id", "text", "agent", "at"}`` strings
    with 1-``MAX_NOTE_CHARS`` characters of text."""
    if set(note) != _NOTE_KEYS or not all(isinstance(note[k], str) for k in _NOTE_KEYS):
        raise ValueError(f"a note is {sorted(_NOTE_KEYS)}, all strings; got {sorted(note)}")
    if not note["text"].strip() or len(note["text"]) > MAX_NOTE_CHARS:
        raise ValueError(f"a note's text has 1-{MAX_NOTE_CHARS} characters")


def clean_tags(tags: Iterable[str]) -> list[str]:
    """The tags lowercased, stripped, without repeats, sorted; ValueError naming a tag that
    is not one (``TAG_PATTERN``) or when there are more than ``MAX_TAGS``."""
    found: set[str] = set()
    for raw in tags:
        tag = str(raw).strip().lower()
        if not TAG_PATTERN.fullmatch(tag):
            raise ValueError(
                f"{raw!r} is not a tag; use 1-32 letters, digits, - or _ (e.g. 'outage')"
            )
        found.add(tag)
    if len(found) > MAX_TAGS:
        raise ValueError(f"a contact has at most {MAX_TAGS} tags, not {len(found)}")
    return sorted(found)


def annotated(
    contact_id: str,
    meta: Mapping[str, Any],
    note: Mapping[str, Any] | None,
    tags: Sequence[str] | None,
) -> dict[str, Any]:
    """``meta`` with ``note`` appended to its notes and its tags replaced by ``tags`` (no
    tags: the key is removed); None leaves either as it is. ``NotesFull`` past ``MAX_NOTES``."""
    changed = dict(meta)
    if note is not None:
        notes = list(changed.get(NOTES) or [])
        if len(notes) >= MAX_NOTES:
            raise NotesFull(contact_id)
        changed[NOTES] = [*notes, dict(note)]
    if tags is not None:
        if tags:
            changed[TAGS] = list(tags)
        else:
            changed.pop(TAGS, None)
    return changed
