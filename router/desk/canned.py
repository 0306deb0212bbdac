"""Canned replies: texts an agent picks instead of typing, per team and language, with
placeholders filled for the contact being answered.

They are store documents (kind ``canned``, one per reply and language), so every router
process reads the same ones and a change made through one is seen by all at the next read.
Each change is a compare-and-set on the document's tag (``Store.put_doc``): two agents
editing one reply at once do not silently overwrite each other when they send ``If-Match``,
and without it the last write wins. A deleted reply leaves a tombstone, so that the config's
shipped replies (``canned:``, stored once when the store has no document of that id) do not
come back at the next start after someone deleted them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from queues import Contact, Store, fill, new_id, to_iso
from router.config import PLACEHOLDERS, CannedEntry, unknown_placeholders
from router.errors import CannedChanged, DeskError, NoSuchCanned

__all__ = [
    "KIND",
    "CannedReplies",
    "CannedReply",
    "fill_params",
]

KIND = "canned"
_ATTEMPTS = 5  # compare-and-set tries before a busy reply's change is given up
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class CannedReply:
    id: str
    title: str
    team: str | None  # None: every team
    language: str
    text: str
    source: str  # "config" (shipped) or "api"
    updated_at: float
    updated_by: str | None
    tag: str = ""  # the document's version (the API's ETag)

    def record(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "team": self.team,
            "language": self.language,
            "text": self.text,
            "source": self.source,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }

    @classmethod
    def from_record(cls, reply_id: str, data: Mapping[str, Any], tag: str) -> CannedReply:
        return cls(
            id=reply_id,
            title=str(data["title"]),
            team=data.get("team"),
            language=str(data["language"]),
            text=str(data["text"]),
            source=str(data.get("source", "api")),
            updated_at=float(data.get("updated_at", 0.0)),
            updated_by=data.get("updated_by"),
            tag=tag,
        )

    def to_dict(self, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """As the API shows it; with ``params``, ``filled`` is the text for that contact and
        ``unfilled`` the placeholders it could not fill (the agent completes them)."""
        view: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "team": self.team,
            "language": self.language,
            "text": self.text,
            "placeholders": [p for p in PLACEHOLDERS if "{" + p + "}" in self.text],
            "source": self.source,
            "updated_at": to_iso(self.updated_at),
            "updated_by": self.updated_by,
            "version": self.tag or None,  # a list does not read the versions
        }
        if params is not None:
            view["filled"] = fill(self.text, params)
            view["unfilled"] = [p for p in view["placeholders"] if p not in params]
        return view

    def matches(self, words: Iterable[str]) -> bool:
        """Every word starts a word of the title, the text or the id (case-insensitive)."""
        haystack = _WORD.findall(f"{self.id} {self.title} {self.text}".lower())
        return all(any(w.startswith(word) for w in haystack) for word in words)


def fill_params(
    contact: Contact,
    *,
    name: str | None,
    position: int | None,
    timezone: ZoneInfo,
) -> dict[str, str]:
    """The placeholders' values for ``contact``: the verified customer's name, the place in
    the queue while waiting, the contact id, the SLA due time (local, minutes). What is not
    known is left out, so its placeholder stays for the agent to fill."""
    params = {"contact_id": contact.id}
    if name and contact.verified:
        params["name"] = name
    if position is not None:
        params["position"] = str(position)
    if contact.sla_due is not None:
        due = datetime.fromtimestamp(contact.sla_due, timezone)
        params["sla_due"] = due.strftime("%Y-%m-%d %H:%M")
    return params


class CannedReplies:
    """The canned replies in the store: list, read, create, change, delete; seeded from
    the config."""

    def __init__(self, store: Store, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    async def seed(self, entries: Mapping[str, CannedEntry]) -> int:
        """Store each shipped reply (``<id>.<language>``) the store has no document of
        (none, or a tombstone: a deleted one stays deleted); how many were added."""
        added = 0
        for key, entry in entries.items():
            for language, text in entry.text.items():
                reply = CannedReply(
                    id=f"{key}.{language}",
                    title=entry.title,
                    team=entry.team,
                    language=language,
                    text=text,
                    source="config",
                    updated_at=self._clock(),
                    updated_by=None,
                )
                stored = await self._store.put_doc(KIND, reply.id, reply.record(), tag="")
                added += stored is not None
        return added

    async def all(self) -> list[CannedReply]:
        """Every reply, by team (every team's first), title and language."""
        docs = await self._store.all_docs(KIND)
        replies = [
            CannedReply.from_record(key, doc, "")
            for key, doc in docs.items()
            if not doc.get("deleted")
        ]
        return sorted(replies, key=lambda r: (r.team or "", r.title.lower(), r.language, r.id))

    async def matching(
        self,
        *,
        teams: Iterable[str] | None = None,
        language: str | None = None,
        query: str = "",
    ) -> list[CannedReply]:
        """The replies for any of ``teams`` (None: every team's; a reply for every team
        always matches), in ``language``, whose title, text or id has every word of
        ``query`` as the start of a word."""
        wanted = None if teams is None else set(teams)
        words = _WORD.findall(query.lower())
        return [
            r
            for r in await self.all()
            if (wanted is None or r.team is None or r.team in wanted)
            and (language is None or r.language == language)
            and r.matches(words)
        ]

    async def get(self, reply_id: str) -> CannedReply:
        data, tag = await self._store.get_doc(KIND, reply_id)
        if data is None or data.get("deleted"):
            raise NoSuchCanned(reply_id)
        return CannedReply.from_record(reply_id, data, tag)

    async def create(
        self, *, title: str, team: str | None, language: str, text: str, by: str
    ) -> CannedReply:
        _check_text(text)
        reply = CannedReply(
            id=new_id(),
            title=title,
            team=team,
            language=language,
            text=text,
            source="api",
            updated_at=self._clock(),
            updated_by=by,
        )
        tag = await self._store.put_doc(KIND, reply.id, reply.record(), tag="")
        if tag is None:  # pragma: no cover - a fresh id is never taken
            raise CannedChanged(reply.id, "")
        return CannedReply.from_record(reply.id, reply.record(), tag)

    async def change(
        self, reply_id: str, changes: Mapping[str, Any], *, by: str, expected: str | None
    ) -> CannedReply:
        """Apply ``changes`` (title, team, language, text); with ``expected`` (If-Match)
        only to that version of the reply, else to whatever is current."""
        if "text" in changes:
            _check_text(str(changes["text"]))
        for _ in range(_ATTEMPTS):
            current = await self.get(reply_id)
            if expected is not None and current.tag != expected:
                raise CannedChanged(reply_id, expected)
            record = {**current.record(), **changes, "updated_at": self._clock()}
            record["updated_by"] = by
            tag = await self._store.put_doc(KIND, reply_id, record, tag=current.tag)
            if tag is not None:
                return CannedReply.from_record(reply_id, record, tag)
        raise CannedChanged(reply_id, expected or "")

    async def delete(self, reply_id: str, *, by: str, expected: str | None) -> None:
        """Delete the reply (a tombstone, so the config does not bring it back)."""
        current = await self.get(reply_id)
        tag = expected if expected is not None else current.tag
        tombstone = {"deleted": True, "updated_at": self._clock(), "updated_by": by}
        if await self._store.put_doc(KIND, reply_id, tombstone, tag=tag) is None:
            raise CannedChanged(reply_id, tag)


def _check_text(text: str) -> None:
    unknown = unknown_placeholders(text)
    if unknown:
        raise DeskError(
            f"{', '.join('{' + n + '}' for n in unknown)} is not a placeholder; use "
            f"{', '.join('{' + n + '}' for n in PLACEHOLDERS)}"
        )
