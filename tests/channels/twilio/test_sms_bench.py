"""The SMS benchmark at a tiny size: the figure with its same-run baseline."""

from __future__ import annotations

import math

import structlog

from bench.sms import measure


def test_sms_webhook_figure_comes_with_a_baseline_and_ratio() -> None:
    before = structlog.get_config()
    (figure,) = measure(messages=20, concurrency=4, repeats=1, warmup=4)
    assert set(figure) == {"name", "value", "unit", "baseline", "ratio"}
    assert (figure["name"], figure["unit"]) == ("sms.webhook_per_s", "webhooks/s")
    assert isinstance(figure["value"], float) and figure["value"] > 0
    assert isinstance(figure["baseline"], float) and figure["baseline"] > 0
    assert math.isclose(figure["ratio"], figure["value"] / figure["baseline"])
    assert structlog.get_config() == before  # the quiet logging is undone
