"""Smoke test of bench/email.py at a tiny size; `python -m bench.email` runs the real thing."""

from __future__ import annotations

import math

from bench.email import measure


async def test_email_bench_reports_rate_against_the_bare_sink() -> None:
    [figure] = await measure(mails=20, connections=2, repeats=1, warmup=2)
    assert set(figure) == {"name", "value", "unit", "baseline", "ratio"}
    assert figure["name"] == "email.smtp_msgs_per_s" and figure["unit"] == "msgs/s"
    assert figure["value"] > 0 and figure["baseline"] > 0
    assert math.isclose(figure["ratio"], figure["value"] / figure["baseline"])
