"""Open counts per key and refusals logged once per window (channels.floods)."""

from __future__ import annotations

from structlog.testing import capture_logs

from channels.floods import OpenCounts, RefusalLog


def test_open_counts_cap_per_key_and_in_total() -> None:
    counts = OpenCounts(per_key=2, total=3)
    assert [counts.open("a"), counts.open("a"), counts.open("a")] == [None, None, "per_key"]
    assert [counts.open("b"), counts.open("c")] == [None, "total"]
    counts.close("a")
    assert counts.open("c") is None
    assert (counts.count, counts.held("a"), counts.held("c")) == (3, 1, 1)
    counts.close("zzz")  # never opened: nothing to undo
    assert counts.count == 3


def test_a_refusal_is_logged_once_per_window_with_the_count_of_silent_ones() -> None:
    now = [0.0]
    refusals = RefusalLog(60.0, clock=lambda: now[0])
    with capture_logs() as logs:
        logged = [refusals.refused("chat_open", "203.0.113.7") for _ in range(500)]
        refusals.refused("chat_open", "198.51.100.1")
        now[0] = 61.0
        refusals.refused("chat_open", "203.0.113.7")
    assert logged.count(True) == 1
    assert [(e["client"], e["refused_silently"]) for e in logs] == [
        ("203.0.113.7", 0),
        ("198.51.100.1", 0),
        ("203.0.113.7", 499),
    ]
