"""The channel figures: each channel through the real app, against a bare server in the same run.

SMS has none here: one webhook at the speed of the wire, with the router in a process of
its own and wrk as the client, is ``ingest.sms.*`` (bench/ingest.py); voice here is whole
scripted calls (``ingest.voice.*`` is the first webhook).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import chat, email, voice
from bench.report import Figure

__all__ = ["run_channels"]


def _figures(dicts: list[dict[str, Any]], notes: dict[str, str]) -> list[Figure]:
    return [
        Figure(d["name"], d["value"], d["unit"], d["baseline"], note=notes[d["name"]])
        for d in dicts
    ]


def run_channels(quick: bool, workdir: Path) -> list[Figure]:
    """voice, email and chat figures; ``quick`` shrinks every workload."""
    voice_sizes: dict[str, int] = {"calls": 20, "warmup": 5, "repeats": 1} if quick else {}
    figures = _figures(
        voice.measure(concurrency=20, workdir=workdir / "voice", **voice_sizes), voice.NOTES
    )
    figures += email.run_email(email.QUICK_EMAIL if quick else email.FULL_EMAIL, workdir / "email")
    (workdir / "chat").mkdir(exist_ok=True)
    figures += chat.figures(
        100 if quick else 1000, rounds=1 if quick else 3, workdir=workdir / "chat"
    )
    return figures
