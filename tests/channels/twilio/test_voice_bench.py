"""The voice benchmark at a tiny size: both figures, each with its same-run baseline."""

from __future__ import annotations

import math
from pathlib import Path

import structlog

from bench.voice import NOTES, measure


def test_voice_figures_come_with_a_baseline_and_ratio(tmp_path: Path) -> None:
    before = structlog.get_config()
    figures = measure(calls=4, concurrency=2, warmup=1, workdir=tmp_path)
    assert [f["name"] for f in figures] == ["voice.call_per_s", "voice.step_p99_ms"]
    assert [f["unit"] for f in figures] == ["calls/s", "ms"]
    for figure in figures:
        assert set(figure) == {"name", "value", "unit", "baseline", "ratio"}
        assert isinstance(figure["value"], float) and figure["value"] > 0
        assert isinstance(figure["baseline"], float) and figure["baseline"] > 0
        assert math.isclose(figure["ratio"], figure["value"] / figure["baseline"])
        assert figure["name"] in NOTES
    assert structlog.get_config() == before  # the quiet logging is undone
