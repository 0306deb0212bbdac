"""Suggested incidents: what a spike proposes to the supervisor, kept in the store.

One document per (team, topic) under kind ``outages:suggestions`` (key ``team|topic``, ""
for a rate spike's topic), created compare-and-set only when absent: two processes that
see the same spike at once make one suggestion, and the later alarms of that spike update
it (its peak count, a few sample contacts, when it was last seen). A suggestion is listed
until ``STALE_S`` pass without an alarm, until it is dismissed (it then stays hidden while
its spike goes on), or until an incident is opened from it (the document goes; the open
incident keeps new alarms of the spike from suggesting it again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from queues import Store, StoreUnavailable, new_id, to_iso
from router.outages.spikes import Spike

__all__ = ["KIND", "MAX_SAMPLES", "STALE_S", "Suggestion", "SuggestionBook"]

KIND = "outages:suggestions"
STALE_S = 1800.0
MAX_SAMPLES = 5
#: A spike that goes on rewrites its suggestion this often at most, unless it grew.
REFRESH_S = 60.0
#: How long a process trusts its copy of a suggestion to skip an alarm that changes nothing.
HINT_S = 5.0
_TRIES = 10


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    kind: str  # "topic" or "rate"
    team: str
    topic: str | None
    count: int
    window_s: float
    expected: float
    p_value: float
    first_at: float
    last_at: float
    sample_contact_ids: tuple[str, ...] = ()
    text: Mapping[str, str] = field(default_factory=dict)
    dismissed: bool = False

    @property
    def key(self) -> str:
        return slot_key(self.team, self.topic)

    def view(self) -> dict[str, Any]:
        """The suggestion as ``GET /api/incidents/suggestions`` shows it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "team": self.team,
            "topic": self.topic,
            "count": self.count,
            "window_s": self.window_s,
            "expected": round(self.expected, 3),
            "p_value": self.p_value,
            "sample_contact_ids": list(self.sample_contact_ids),
            "text": dict(self.text),
            "first_at": to_iso(self.first_at),
            "last_at": to_iso(self.last_at),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "team": self.team,
            "topic": self.topic,
            "count": self.count,
            "window_s": self.window_s,
            "expected": self.expected,
            "p_value": self.p_value,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "sample_contact_ids": list(self.sample_contact_ids),
            "text": dict(self.text),
            "dismissed": self.dismissed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Suggestion:
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            team=str(data["team"]),
            topic=data.get("topic"),
            count=int(data["count"]),
            window_s=float(data["window_s"]),
            expected=float(data["expected"]),
            p_value=float(data["p_value"]),
            first_at=float(data["first_at"]),
            last_at=float(data["last_at"]),
            sample_contact_ids=tuple(data.get("sample_contact_ids") or ()),
            text={str(k): str(v) for k, v in (data.get("text") or {}).items()},
            dismissed=bool(data.get("dismissed", False)),
        )


def slot_key(team: str, topic: str | None) -> str:
    return f"{team}|{topic or ''}"


def _seen(old: Suggestion, spike: Spike, contact_id: str, at: float) -> Suggestion:
    """``old`` after another alarm of its spike: the peak count, one more sample."""
    samples = old.sample_contact_ids
    if contact_id not in samples and len(samples) < MAX_SAMPLES:
        samples = (*samples, contact_id)
    peak = spike.count > old.count
    return replace(
        old,
        count=spike.count if peak else old.count,
        window_s=spike.window_s if peak else old.window_s,
        expected=spike.expected if peak else old.expected,
        p_value=min(old.p_value, spike.p_value),
        last_at=at,
        sample_contact_ids=samples,
    )


def _worth_writing(old: Suggestion, new: Suggestion) -> bool:
    grew = new.count >= old.count + max(1, old.count // 10)
    return (
        grew
        or new.sample_contact_ids != old.sample_contact_ids
        or (new.last_at - old.last_at >= REFRESH_S)
    )


class SuggestionBook:
    """The suggestions every router process shares.

    During a spike every arrival of its topic is an alarm; most change nothing worth
    writing (``_worth_writing``). A process keeps what it last read or wrote of each
    suggestion for ``HINT_S``, and an alarm that would change nothing worth writing even
    against that copy needs no read: a crowd on an outage day costs the store one read
    per suggestion every few seconds, not one per message. The store stays the truth:
    anything worth writing is read and written with compare-and-set.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._hints: dict[str, tuple[Suggestion, float]] = {}  # key -> (as seen, when)
        self._recent: tuple[int, list[Suggestion]] | None = None  # ``all`` of one second

    async def record(
        self,
        *,
        kind: str,
        team: str,
        topic: str | None,
        spike: Spike,
        contact_id: str,
        at: float,
        text: Callable[[], Mapping[str, str]],
    ) -> tuple[Suggestion, bool]:
        """Record an alarm: the suggestion, and whether it is new (``text`` makes the
        announcement to suggest; only a new suggestion needs one)."""
        key = slot_key(team, topic)
        hinted = self._hint(key, at)
        if hinted is not None and not _worth_writing(hinted, _seen(hinted, spike, contact_id, at)):
            return hinted, False
        for _ in range(_TRIES):
            data, tag = await self._store.get_doc(KIND, key)
            old = Suggestion.from_dict(data) if data else None
            if old is not None and at - old.last_at <= STALE_S:
                self._hints[key] = (old, at)
                new = _seen(old, spike, contact_id, at)
                if not _worth_writing(old, new):
                    return old, False
                if await self._store.put_doc(KIND, key, new.to_dict(), tag=tag) is not None:
                    self._hints[key] = (new, at)
                    return new, False
                continue
            made = Suggestion(
                id=new_id(),
                kind=kind,
                team=team,
                topic=topic,
                count=spike.count,
                window_s=spike.window_s,
                expected=spike.expected,
                p_value=spike.p_value,
                first_at=at,
                last_at=at,
                sample_contact_ids=(contact_id,),
                text=dict(text()),
            )
            if await self._store.put_doc(KIND, key, made.to_dict(), tag=tag) is not None:
                self._hints[key] = (made, at)
                self._recent = None
                return made, True
        raise StoreUnavailable(f"the suggestion {key!r} changed {_TRIES} times; try again")

    def _hint(self, key: str, at: float) -> Suggestion | None:
        """What this process last saw of a suggestion, when recent and not stale."""
        seen = self._hints.get(key)
        if seen is None or not 0 <= at - seen[1] <= HINT_S or at - seen[0].last_at > STALE_S:
            self._hints.pop(key, None)
            return None
        return seen[0]

    async def all(self, *, at: float) -> list[Suggestion]:
        """Every suggestion not stale at ``at`` (dismissed ones included), oldest first;
        stale ones are deleted on the way."""
        live = []
        for key, data in (await self._store.all_docs(KIND)).items():
            suggestion = Suggestion.from_dict(data)
            if at - suggestion.last_at > STALE_S:
                await self._delete_if(key, suggestion.id)
            else:
                live.append(suggestion)
        return sorted(live, key=lambda s: (s.first_at, s.id))

    async def recent(self, *, at: float) -> list[Suggestion]:
        """``all`` as read in the second of ``at`` (read again after this process made a
        suggestion, dismissed or removed one): for alarms that only look, a crowd's worth
        in one second costs one read. Another process's change is seen from the next."""
        second = int(at)
        if self._recent is not None and self._recent[0] == second:
            return self._recent[1]
        found = await self.all(at=at)
        self._recent = (second, found)
        return found

    async def find(self, suggestion_id: str, *, at: float) -> Suggestion | None:
        for suggestion in await self.all(at=at):
            if suggestion.id == suggestion_id:
                return suggestion
        return None

    async def remove(self, suggestion: Suggestion) -> None:
        await self._delete_if(suggestion.key, suggestion.id)

    async def dismiss(self, suggestion: Suggestion) -> None:
        self._hints.pop(suggestion.key, None)
        self._recent = None
        for _ in range(_TRIES):
            data, tag = await self._store.get_doc(KIND, suggestion.key)
            if not data or data.get("id") != suggestion.id:
                return
            data = {**data, "dismissed": True}
            if await self._store.put_doc(KIND, suggestion.key, data, tag=tag) is not None:
                return

    async def _delete_if(self, key: str, suggestion_id: str) -> None:
        self._hints.pop(key, None)
        self._recent = None
        data, _ = await self._store.get_doc(KIND, key)
        if data and data.get("id") == suggestion_id:
            await self._store.delete_doc(KIND, key)
