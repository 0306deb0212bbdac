"""Prometheus exposition, parsed back with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from router.stats.kpi import TeamKpi
from router.stats.metrics import Metrics, Snapshot, render


def kpi(team: str, **kw: object) -> TeamKpi:
    values: dict[str, object] = {
        "offered": 7,
        "answered": 4,
        "abandoned": 2,
        "answered_in_threshold": 3,
        "abandoned_after_threshold": 1,
        "service_level_base": 5,
        "resolved": 4,
        "service_level": 0.6,
        "asa_s": 18.75,
        "abandonment_rate": 1 / 3,
        "aht_s": 175.0,
        "occupancy": 0.75,
        "waiting": 1,
        "longest_wait_s": 10.0,
        "agents_available": 1,
        "agents_busy": 3,
    }
    values.update(kw)
    return TeamKpi(team=team, **values)  # type: ignore[arg-type]


def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = render(metrics)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_kpi_gauges_come_from_the_snapshot() -> None:
    snapshot = Snapshot(
        kpis=[
            kpi("billing"),
            kpi("technical", waiting=0, longest_wait_s=None, service_level=None, agents_busy=0),
        ],
        store_up=True,
    )
    samples = scrape(Metrics(lambda: snapshot))
    billing = (("team", "billing"),)
    technical = (("team", "technical"),)
    assert samples[("switchboard_queue_waiting", billing)] == 1.0
    assert samples[("switchboard_queue_longest_wait_seconds", billing)] == 10.0
    assert samples[("switchboard_service_level_ratio", billing)] == 0.6
    assert samples[("switchboard_asa_seconds", billing)] == 18.75
    assert samples[("switchboard_abandonment_ratio", billing)] == 1 / 3
    assert samples[("switchboard_aht_seconds", billing)] == 175.0
    assert samples[("switchboard_occupancy_ratio", billing)] == 0.75
    assert samples[("switchboard_contacts_offered", billing)] == 7.0
    assert samples[("switchboard_contacts_answered", billing)] == 4.0
    assert samples[("switchboard_contacts_abandoned", billing)] == 2.0
    assert samples[("switchboard_agents", (("state", "available"), ("team", "billing")))] == 1.0
    assert samples[("switchboard_agents", (("state", "busy"), ("team", "billing")))] == 3.0
    assert samples[("switchboard_agents", (("state", "busy"), ("team", "technical")))] == 0.0
    assert samples[("switchboard_queue_waiting", technical)] == 0.0
    assert samples[("switchboard_store_up", ())] == 1.0
    # Nothing to measure: the series is absent rather than a made-up number.
    assert ("switchboard_service_level_ratio", technical) not in samples
    assert ("switchboard_queue_longest_wait_seconds", technical) not in samples


def test_each_scrape_reads_the_latest_snapshot() -> None:
    current = [Snapshot(kpis=[kpi("billing", waiting=1)], store_up=True)]
    metrics = Metrics(lambda: current[0])
    assert scrape(metrics)[("switchboard_queue_waiting", (("team", "billing"),))] == 1.0
    current[0] = Snapshot(kpis=[kpi("billing", waiting=5)], store_up=False)
    samples = scrape(metrics)
    assert samples[("switchboard_queue_waiting", (("team", "billing"),))] == 5.0
    assert samples[("switchboard_store_up", ())] == 0.0


def test_counters_count_messages_and_verifications() -> None:
    metrics = Metrics()
    metrics.message("voice", "in")
    metrics.message("voice", "in")
    metrics.message("email", "out")
    metrics.verification("ok")
    metrics.verification("failed")
    metrics.verification("failed")
    samples = scrape(metrics)

    def messages(channel: str, direction: str) -> float:
        return samples[
            ("switchboard_messages_total", (("channel", channel), ("direction", direction)))
        ]

    assert messages("voice", "in") == 2
    assert messages("email", "out") == 1
    # Known channels start at zero so rate() sees their first message.
    assert messages("sms", "in") == 0
    assert samples[("switchboard_verifications_total", (("result", "failed"),))] == 2
    assert samples[("switchboard_verifications_total", (("result", "ok"),))] == 1


def test_without_a_snapshot_only_store_down_is_shown() -> None:
    samples = scrape(Metrics())
    assert samples[("switchboard_store_up", ())] == 0.0
    assert not any(name == "switchboard_queue_waiting" for name, _ in samples)


def test_every_metric_is_prefixed_and_stays_out_of_the_global_registry() -> None:
    metrics = Metrics(lambda: Snapshot(kpis=[kpi("billing")], store_up=True))
    body, content_type = render(metrics)
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    assert names and all(name.startswith("switchboard_") for name in names)
    assert content_type.startswith("text/plain")
    assert REGISTRY.get_sample_value("switchboard_store_up") is None
    Metrics()  # a second instance registers without clashing
