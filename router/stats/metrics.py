"""Prometheus exposition: KPI gauges read from a snapshot at scrape time, plus counters.

The app computes KPIs in the background and hands ``Metrics`` a callable returning the
latest ``Snapshot``; a scrape only reads it. Everything lives in the ``Metrics``
instance's own registry, never the process-global one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from queues import Channel, Direction
from router.stats.kpi import TeamKpi

__all__ = ["KpiCollector", "LobbyCollector", "Metrics", "Snapshot", "render"]

PREFIX = "switchboard_"

# (name, help, TeamKpi attribute) of the per-team gauges; a None value is left out.
_TEAM_GAUGES = (
    ("queue_waiting", "Contacts waiting in the team's queue.", "waiting"),
    (
        "queue_longest_wait_seconds",
        "How long the longest-waiting contact has waited.",
        "longest_wait_s",
    ),
    (
        "service_level_ratio",
        "Answered within threshold / (answered + abandoned after threshold), in the window.",
        "service_level",
    ),
    ("asa_seconds", "Average speed of answer in the window.", "asa_s"),
    ("abandonment_ratio", "Abandoned / (answered + abandoned) in the window.", "abandonment_rate"),
    ("aht_seconds", "Average handle time of contacts resolved in the window.", "aht_s"),
    (
        "occupancy_ratio",
        "Time agents were busy (holding a contact) / time they were logged in (available or"
        " busy; not on a break or offline), in the window.",
        "occupancy",
    ),
    ("contacts_offered", "Contacts enqueued in the window.", "offered"),
    ("contacts_answered", "Contacts answered in the window.", "answered"),
    ("contacts_abandoned", "Contacts abandoned while waiting in the window.", "abandoned"),
    (
        "acw_seconds",
        "Mean after-contact work (wrap-up) of contacts resolved in the window (in AHT too).",
        "acw_s",
    ),
    ("surveys_asked", "CSAT questions asked in the window.", "surveys_asked"),
    ("surveys_answered", "CSAT answers (1-5) in the window.", "surveys_answered"),
    ("csat_ratio", "CSAT: answers of 4 or 5 / answers, in the window.", "csat"),
    ("csat_score", "Mean CSAT answer (1-5) in the window.", "csat_mean"),
    (
        "fcr_resolved",
        "Resolves of verified customers counted for first-contact resolution, in the window.",
        "fcr_resolved",
    ),
    (
        "fcr_returned",
        "New contacts from the same account on the same team within 7 days of a resolve,"
        " in the window.",
        "fcr_returned",
    ),
    (
        "fcr_ratio",
        "First-contact resolution: 1 - returned / resolved, in the window (0..1).",
        "fcr",
    ),
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a scrape shows: the latest team KPIs and whether the store answered."""

    kpis: Sequence[TeamKpi]
    store_up: bool


class KpiCollector(Collector):
    """Builds the KPI gauges from ``snapshot()`` on every scrape."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def _families(self) -> dict[str, GaugeMetricFamily]:
        families = {
            attr: GaugeMetricFamily(PREFIX + name, text, labels=["team"])
            for name, text, attr in _TEAM_GAUGES
        }
        families["agents"] = GaugeMetricFamily(
            PREFIX + "agents", "Agents serving the team, by state.", labels=["team", "state"]
        )
        families["store_up"] = GaugeMetricFamily(
            PREFIX + "store_up", "1 when the contact store answered at the last check, else 0."
        )
        return families

    def describe(self) -> Iterator[Metric]:
        yield from self._families().values()

    def collect(self) -> Iterator[Metric]:
        snapshot = self._snapshot()
        families = self._families()
        for kpi in snapshot.kpis:
            for _name, _text, attr in _TEAM_GAUGES:
                value = getattr(kpi, attr)
                if value is not None:
                    families[attr].add_metric([kpi.team], float(value))
            families["agents"].add_metric([kpi.team, "available"], kpi.agents_available)
            families["agents"].add_metric([kpi.team, "busy"], kpi.agents_busy)
        families["store_up"].add_metric([], 1.0 if snapshot.store_up else 0.0)
        yield from families.values()


class LobbyCounts(Protocol):
    """What the voice lobby counts (``channels.twilio.lobby.Lobby``)."""

    in_flight: int
    entered: int

    @property
    def waiting(self) -> int: ...


class LobbyCollector(Collector):
    """The voice lobby of this process, read at scrape time."""

    def __init__(self, lobby: LobbyCounts) -> None:
        self._lobby = lobby

    def collect(self) -> Iterator[Metric]:
        entered = CounterMetricFamily(
            PREFIX + "voice_lobby_entered",
            "Calls sent to the lobby (all lines busy) by this process, once each.",
        )
        entered.add_metric([], self._lobby.entered)
        in_flight = GaugeMetricFamily(
            PREFIX + "voice_webhooks_in_flight",
            "Voice webhooks this process is answering now (the lobby's measure).",
        )
        in_flight.add_metric([], self._lobby.in_flight)
        waiting = GaugeMetricFamily(
            PREFIX + "voice_lobby_waiting",
            "Calls waiting in this process's lobby line now (pushed lobby; 0 when it polls).",
        )
        waiting.add_metric([], self._lobby.waiting)
        yield entered
        yield in_flight
        yield waiting


def _no_snapshot() -> Snapshot:
    return Snapshot(kpis=(), store_up=False)


class Metrics:
    """The app's metrics: KPI gauges from ``snapshot`` and the counters it increments."""

    def __init__(self, snapshot: Callable[[], Snapshot] = _no_snapshot) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(KpiCollector(snapshot))
        self._messages = Counter(
            PREFIX + "messages",
            "Messages by channel and direction (in from customers, out to them).",
            ["channel", "direction"],
            registry=self.registry,
        )
        self._verifications = Counter(
            PREFIX + "verifications",
            "Verification attempts by result.",
            ["result"],
            registry=self.registry,
        )
        # Known label values start at 0, so rate() sees the first increment. Each child is
        # kept: ``labels()`` validates and joins its values on every call.
        self._message_counts = {
            (str(channel), str(direction)): self._messages.labels(str(channel), str(direction))
            for channel in Channel
            for direction in Direction
        }

    def message(self, channel: str, direction: str) -> None:
        """Count one message on ``channel`` in ``direction`` (``in`` or ``out``)."""
        child = self._message_counts.get((channel, direction))
        if child is None:
            child = self._message_counts[(channel, direction)] = self._messages.labels(
                channel, direction
            )
        child.inc()

    def watch_lobby(self, lobby: LobbyCounts) -> None:
        """Expose the voice lobby's counts (``switchboard_voice_lobby_entered_total``)."""
        self.registry.register(LobbyCollector(lobby))

    def verification(self, result: str) -> None:
        """Count one verification attempt with ``result`` (e.g. ``ok``, ``failed``)."""
        self._verifications.labels(result).inc()


def render(metrics: Metrics) -> tuple[bytes, str]:
    """The exposition body and its Content-Type header value."""
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST
