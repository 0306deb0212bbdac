"""Smoke test of bench/email.py at a tiny size; `python -m bench.email` runs the real thing."""

from __future__ import annotations

from pathlib import Path

from bench.email import EmailSizes, run_email

#: Enough mails for the sink to use some ticks of CPU (/proc counts in 10 ms ticks).
TINY = EmailSizes(mails=100, rounds=1, warmup=4, clients=2, connections=2)


def test_email_bench_drives_a_router_and_the_sink_in_processes_of_their_own(
    tmp_path: Path,
) -> None:
    figures = {f.name: f for f in run_email(TINY, tmp_path, stores=("memory",))}

    assert set(figures) == {
        "email.memory.msgs_per_s",
        "email.memory.cpu_ms_per_mail",
        "email.memory.p99_ms",
        "email.client_cpu_share",
    }
    rate, cpu = figures["email.memory.msgs_per_s"], figures["email.memory.cpu_ms_per_mail"]
    assert rate.unit == "msgs/s" and rate.baseline is not None and rate.baseline > 0
    assert cpu.baseline is not None and cpu.value > cpu.baseline  # the router does work
    assert 0 < figures["email.client_cpu_share"].value < 2
