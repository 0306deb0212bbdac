"""Smoke tests of the benchmark machinery at tiny sizes; `make bench` runs the real thing."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from bench import QUICK, Figure, render_table
from bench.__main__ import main
from bench.outage import QUICK_OUTAGE
from bench.runner import magnitude, run_redis
from tests.redis_server import redis_server

KEYS = {"name", "value", "unit", "baseline", "ratio"}
TINY = dataclasses.replace(
    QUICK,
    redis_cycles=50,
    warmup=10,
    round_trip_cycles=20,
    depth_low=50,
    depth_high=300,
    depth_claims=50,
    memory_contacts=100,
)


def check_schema(entries: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    by_name = {}
    for entry in entries:
        assert set(entry) == KEYS
        value, baseline, ratio = entry["value"], entry["baseline"], entry["ratio"]
        assert isinstance(entry["name"], str) and isinstance(entry["unit"], str)
        assert isinstance(value, float) and value > 0
        if baseline is None:
            assert ratio is None
        else:
            assert isinstance(baseline, float) and baseline > 0
            assert isinstance(ratio, float) and math.isclose(ratio, value / baseline)
        by_name[str(entry["name"])] = entry
    return by_name


def test_quick_memory_bench_writes_figures_with_baseline_and_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"

    assert main(["--quick", "--backends", "memory", "--out", str(out)]) == 0

    figures = check_schema(json.loads(out.read_text()))
    assert list(figures) == ["queue.memory.cycle_per_s"]
    assert figures["queue.memory.cycle_per_s"]["unit"] == "cycles/s"
    assert "queue.memory.cycle_per_s" in capsys.readouterr().out


def test_failing_backend_exits_non_zero_and_removes_stale_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(*args: object) -> list[Figure]:
        raise RuntimeError("backend exploded")

    monkeypatch.setattr("bench.runner.run_memory", broken)
    out = tmp_path / "results.json"
    out.write_text("[]")

    assert main(["--quick", "--backends", "memory", "--out", str(out)]) == 1

    assert not out.exists()
    assert "backend exploded" in capsys.readouterr().err


def test_unknown_backend_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--backends", "memory,mongodb"])
    assert exited.value.code == 2


def test_figure_ratio_is_value_over_baseline_and_target_is_an_upper_bound() -> None:
    met = Figure("a.b", 3.0, "commands/cycle", target=3)
    missed = Figure("a.c", 2500.0, "bytes", baseline=250.0, target=2048)

    assert met.ratio is None and met.met is True
    assert missed.ratio == 10.0 and missed.met is False
    table = render_table([met, missed])
    assert "yes" in table and "NO" in table and "<= 2,048" in table


def test_figure_rejects_a_value_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="expected > 0"):
        Figure("a.b", 0.0, "cycles/s")


def test_depth_figures_are_named_after_the_depths_measured() -> None:
    assert [magnitude(n) for n in (100_000, 1_000, 100, 300, 50, 10)] == [
        "1e5",
        "1e3",
        "1e2",
        "300",
        "50",
        "10",
    ]


async def test_redis_figures_at_tiny_sizes(tmp_path: Path) -> None:
    # Its own servers: the bench FLUSHALLs and CONFIG RESETSTATs the servers it measures.
    with (
        redis_server(tmp_path / "redis", appendonly=False) as url,
        redis_server(tmp_path / "redis-deep", appendonly=False) as deep_url,
    ):
        figures = await run_redis(TINY, url, deep_url)

    by_name = check_schema([f.to_dict() for f in figures])
    assert set(by_name) == {
        "queue.redis.cycle_per_s",
        "queue.redis.round_trips_per_contact",
        "queue.redis.commands_run_per_contact",
        "queue.redis.claim_depth_ratio_300_vs_50",  # named after the depths measured
        "queue.redis.bytes_per_waiting_contact",
    }
    memory = by_name["queue.redis.bytes_per_waiting_contact"]
    raw = memory["baseline"]
    # Measured, not the 220 bytes of the message text and the id alone: a hash of ~13 fields.
    assert isinstance(raw, float) and 300 < raw < 2048
    sent = by_name["queue.redis.round_trips_per_contact"]["value"]
    executed = by_name["queue.redis.commands_run_per_contact"]["value"]
    assert isinstance(sent, float) and isinstance(executed, float)
    assert sent >= 3 and executed >= sent  # at least one command per transition


def test_quick_outage_bench_runs_two_routers_and_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert main(["--quick", "--backends", "outage", "--out", str(out)]) == 0
    figures = check_schema(json.loads(out.read_text()))
    assert set(figures) == {
        "outage.fill_arrivals_per_s",
        "outage.fill_router_cpu_ms_per_queued_contact",
        "outage.webhooks_per_waiting_caller_per_min",
        "outage.router_cpu_s_per_1000_waiting_per_min",
        "outage.claim_to_connected_p99_s",
        "outage.redis_bytes_per_waiting_contact",
        "outage.contacts_lost_plus_one",
    }
    assert figures["outage.contacts_lost_plus_one"]["value"] == 1.0
    webhooks = figures["outage.webhooks_per_waiting_caller_per_min"]["value"]
    assert isinstance(webhooks, float) and webhooks <= 3.0
    fill = figures["outage.fill_arrivals_per_s"]["value"]
    assert isinstance(fill, float) and fill <= QUICK_OUTAGE.arrivals_per_s * 1.05  # paced


def test_quick_simulate_bench_reports_contacts_per_second(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert main(["--quick", "--backends", "simulate", "--out", str(out)]) == 0
    figures = check_schema(json.loads(out.read_text()))
    assert set(figures) == {"simulate.contacts_per_s", "simulate.day_of_20000_contacts_s"}
    assert figures["simulate.contacts_per_s"]["unit"] == "contacts/s"
    day_s = figures["simulate.day_of_20000_contacts_s"]["value"]
    per_s = figures["simulate.contacts_per_s"]["value"]
    assert isinstance(day_s, float) and isinstance(per_s, float)
    assert math.isclose(day_s * per_s, 20_000)


def test_ingest_bench_drives_a_real_router_and_the_bare_handler_with_wrk(tmp_path: Path) -> None:
    from bench.ingest import run_ingest

    figures = {f.name: f for f in run_ingest(True, tmp_path, stores=("memory",))}
    assert set(figures) == {
        f"ingest.{channel}.memory.{what}"
        for channel in ("sms", "voice")
        for what in ("per_s", "slowdown", "cpu_ms_per_req", "p99_over_p50")
    }
    for channel in ("sms", "voice"):
        rate = figures[f"ingest.{channel}.memory.per_s"]
        assert rate.baseline is not None and rate.value > 0
        cpu = figures[f"ingest.{channel}.memory.cpu_ms_per_req"]
        assert cpu.baseline is not None and cpu.value > cpu.baseline  # the router does work
