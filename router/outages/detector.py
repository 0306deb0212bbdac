"""The spike detector on the live stream of arrivals; its state is the store's.

At a contact's first message it counts the message's topics and tests them
(``spikes.topic_spike``); when a contact is queued it tests its team's arrivals
(``spikes.rate_spike``). What every process must agree on is in the store, so arrivals in
any router process count alike:

* topic counts: windowed counters (``Store.count_window``) per topic and for all first
  messages, in minute slots over ``TOPIC_WINDOW_MIN`` and day slots over ``TOPIC_DAYS``;
* a team's arrivals per minute: the minute buckets every store keeps in the step of each
  enqueue (``offered``);
* what is usual: the hour-of-week profile documents (``profile.py``), rolled once an
  hour; a process keeps the current hour's in memory, a copy of what the store holds;
* the suggestions (``suggestions.py``).

Each arrival costs a fixed number of store calls, never a pass over the day: at a first
message, its share of a flush of topic counts (``counts.py``: the first messages that
arrive together are counted together, two counter calls of (topics + 1) keys for one alone,
a few for fifty); when queued, one read of the team's last ``max(RATE_WINDOWS_MIN)``
minutes of buckets (on Redis one or two hour hashes) at the first arrival of a second, the
rest of that second's arrivals counted in the process (a contact queued while another's
read is under way may count twice in that second: alarms need p < 1e-6, a burst's few
extra do not make one). The profile is read (and rolled) once an hour per process, whatever
arrives meanwhile. Only a spike costs more: its suggestion is recorded (a document read,
and written when it changed), one spiking message after another in arrival order, as they
were counted, and the suggestions are read once a second to see whether a topic already
says it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

import structlog

from queues import Contact, Store
from router.outages.counts import TopicCounts, Window
from router.outages.profile import Profile, learned, minute_arrivals, rate_windows
from router.outages.spikes import (
    RATE_WINDOWS_MIN,
    TOPIC_WINDOW_MIN,
    Spike,
    rate_spike,
    topic_spike,
)
from router.outages.suggestions import Suggestion, SuggestionBook
from router.outages.topics import Feature, announcement, topic_keys
from router.routing import ALL_TEAMS, Incidents

__all__ = ["PRIOR_PER_HOUR", "TOPIC_DAYS", "Detector"]

log = structlog.get_logger(__name__)

#: A new team's assumed arrivals per hour, before its own hours say (``profile.py``).
PRIOR_PER_HOUR = 10.0
TOPIC_DAYS = 8
TOPIC_PREFIX = "outages:topic:"
ALL_TOPICS = TOPIC_PREFIX + "*"
_TOPIC_KEEP_S = (TOPIC_WINDOW_MIN + 1) * 60.0
_DAYS_KEEP_S = (TOPIC_DAYS + 1) * 86400.0
_TOPIC_WINDOWS = (
    Window(slot_s=60, slots=TOPIC_WINDOW_MIN, keep_s=_TOPIC_KEEP_S),
    Window(slot_s=86400, slots=TOPIC_DAYS, keep_s=_DAYS_KEEP_S),
)


class Detector:
    """Tests every arrival; records spikes as suggestions."""

    def __init__(
        self,
        store: Store,
        book: SuggestionBook,
        *,
        clock: Callable[[], float],
        zone: ZoneInfo,
        teams: tuple[str, ...],
        team_names: Mapping[str, Mapping[str, str]],
    ) -> None:
        self._store = store
        self._book = book
        self._clock = clock
        self._zone = zone
        self._teams = teams
        self._team_names = team_names
        self._counts = TopicCounts(store, _TOPIC_WINDOWS)
        # This hour's profile per stream, as the store holds it (by the hour it is for),
        # and the one read of it under way.
        self._profiles: dict[str, tuple[int, Profile]] = {}
        self._loading: dict[str, tuple[int, asyncio.Future[Profile | None]]] = {}
        # Each stream's arrivals by minute as read in one second, with this process's
        # arrivals since: a crowd queued in one second costs one read, not one each.
        self._arrivals: dict[str, tuple[int, dict[int, int]]] = {}
        # Spikes are recorded one after another, in the order they were counted.
        self._recording = asyncio.Lock()

    async def first_message(
        self,
        contact: Contact,
        features: list[Feature],
        *,
        team: str | None,
        incidents: Incidents,
    ) -> Suggestion | None:
        """A new contact with a first text: its topics (``features`` of the text; ``team``:
        the one the text names)."""
        return await self._topics(contact, features, team=team, incidents=incidents)

    async def queued(self, contact: Contact, team: str, incidents: Incidents) -> Suggestion | None:
        """A contact entered ``team``'s queue: the team's arrivals."""
        return await self._rate(team, contact, incidents)

    # -- topics -------------------------------------------------------------------------------
    async def _topics(
        self, contact: Contact, features: list[Feature], *, team: str | None, incidents: Incidents
    ) -> Suggestion | None:
        topics = topic_keys(features) if features else []  # no topic: counted in all
        keys = [ALL_TOPICS, *map(_counter_key, topics)]
        now_counts, day_counts = (await self._counts.count(keys)).counts
        best: tuple[Spike, str] | None = None
        for i, topic in enumerate(topics, start=1):
            spike = topic_spike(now_counts[i], now_counts[0], day_counts[i], day_counts[0])
            if spike is not None and (best is None or spike.p_value < best[0].p_value):
                best = (spike, topic)
        if best is None:
            return None
        spike, topic = best
        on = team or ALL_TEAMS
        if _topic_covered(incidents, on, topic, self._clock()):
            return None
        words = {f.key: f.surface for f in features if f.kind == "word"}
        team_name = self._team_names.get(on, {})
        async with self._recording:
            suggestion, new = await self._book.record(
                kind="topic",
                team=on,
                topic=topic,
                spike=spike,
                contact_id=contact.id,
                at=self._clock(),
                text=lambda: announcement(topic, team_name=team_name, words=words),
            )
        if new:
            log.info(
                "incident_suggested",
                suggestion_id=suggestion.id,
                team=on,
                topic=topic,
                count=spike.count,
                expected=round(spike.expected, 3),
                p_value=spike.p_value,
            )
            await self._absorb_rates(on)
        return suggestion

    async def _absorb_rates(self, team: str) -> None:
        """A topic explains a rate spike of its team: one suggestion for one outage."""
        for other in await self._book.all(at=self._clock()):
            if other.kind == "rate" and (other.team == team or team == ALL_TEAMS):
                await self._book.remove(other)

    # -- rates --------------------------------------------------------------------------------
    async def _rate(self, stream: str, contact: Contact, incidents: Incidents) -> Suggestion | None:
        now = self._clock()
        profile = await self._profile(stream, now)
        per_minute = await self._per_minute(stream, now)
        windows = rate_windows(
            profile,
            per_minute,
            now,
            widths_min=RATE_WINDOWS_MIN,
            zone=self._zone,
            prior_per_hour=PRIOR_PER_HOUR,
        )
        spike = rate_spike(windows)
        if spike is None or _rate_covered(incidents, stream, now):
            return None
        suggestions = await self._book.recent(at=now)
        if any(s.kind == "topic" and s.team in (stream, ALL_TEAMS) for s in suggestions):
            return None  # a topic of the team already says it
        suggestion, new = await self._book.record(
            kind="rate",
            team=stream,
            topic=None,
            spike=spike,
            contact_id=contact.id,
            at=now,
            text=lambda: announcement(None, team_name=self._team_names.get(stream, {})),
        )
        if new:
            log.info(
                "incident_suggested",
                suggestion_id=suggestion.id,
                team=stream,
                count=spike.count,
                expected=round(spike.expected, 3),
                p_value=spike.p_value,
            )
        return suggestion

    async def _per_minute(self, stream: str, now: float) -> dict[int, int]:
        """The stream's arrivals by minute over the widest window, this one counted: read
        from the store at the first arrival of a second (every process's), then counted
        here for the rest of that second (other processes' are seen from the next)."""
        second = int(now)
        cached = self._arrivals.get(stream)
        if cached is not None and cached[0] == second:
            per_minute = cached[1]
            minute = int(now // 60) * 60
            per_minute[minute] = per_minute.get(minute, 0) + 1
            return per_minute
        since = now - (max(RATE_WINDOWS_MIN) - 1) * 60
        per_minute = await minute_arrivals(self._store, stream, since=since, until=now)
        self._arrivals[stream] = (second, per_minute)
        return per_minute

    async def _profile(self, stream: str, now: float) -> Profile:
        """The stream's profile for this hour: read once an hour, however many arrive
        meanwhile (those that arrive while it is read wait for that read)."""
        hour = int(now // 3600) * 3600
        cached = self._profiles.get(stream)
        if cached is not None and cached[0] == hour:
            return cached[1]
        loading = self._loading.get(stream)
        if loading is not None and loading[0] == hour:
            shared = await asyncio.shield(loading[1])
            if shared is not None:
                return shared  # else that read failed: try it here
        future: asyncio.Future[Profile | None] = asyncio.get_running_loop().create_future()
        self._loading[stream] = (hour, future)
        profile = None
        try:
            profile = await learned(self._store, stream, now=now, zone=self._zone)
            self._profiles[stream] = (hour, profile)
            return profile
        finally:
            future.set_result(profile)
            if self._loading.get(stream, (hour, None))[1] is future:
                del self._loading[stream]


def _counter_key(topic: str) -> str:
    # Hashed: a topic of words may carry what a customer wrote, and counters are kept days.
    return TOPIC_PREFIX + hashlib.sha256(topic.encode()).hexdigest()[:20]


def _topic_covered(incidents: Incidents, team: str, topic: str, at: float) -> bool:
    """An open incident already says it: one with this topic, or a whole team's."""
    for incident in incidents.items:
        if not incident.is_open(at):
            continue
        if incident.topic == topic:
            return True
        if incident.topic is None and incident.team in (team, ALL_TEAMS):
            return True
    return False


def _rate_covered(incidents: Incidents, team: str, at: float) -> bool:
    return any(i.is_open(at) and i.team in (team, ALL_TEAMS) for i in incidents.items)
