"""Smoke test of the web chat memory benchmark at a tiny size; `make bench` runs 1,000."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.chat import NAME, measure

pytestmark = pytest.mark.slow


def test_measure_reports_memory_per_session_against_an_echo_server(tmp_path: Path) -> None:
    [figure] = measure(40, rounds=1, workdir=tmp_path)
    assert set(figure) == {"name", "value", "unit", "baseline", "ratio"}
    assert figure["name"] == NAME == "chat.ws_memory_kib_per_session"
    assert figure["unit"] == "KiB/session"
    value, baseline = figure["value"], figure["baseline"]
    assert isinstance(value, float) and isinstance(baseline, float)
    assert 0 < value < 1024 and 0 < baseline < 1024  # under a MiB per socket, or it leaks
    assert math.isclose(figure["ratio"], value / baseline)
