"""Benchmarks of the queue backends against baselines measured in the same run.

``python -m bench`` (``make bench``) prints a table and writes ``bench/results.json``.
"""

from __future__ import annotations

from bench.report import Figure, render_table, to_json, write_json
from bench.runner import BACKENDS, FULL, QUICK, Results, Sizes, run

__all__ = [
    "BACKENDS",
    "FULL",
    "QUICK",
    "Figure",
    "Results",
    "Sizes",
    "render_table",
    "run",
    "to_json",
    "write_json",
]
