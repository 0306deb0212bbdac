"""The channel figures: each channel through the real app, against a bare server in the same run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench import chat, email, sms, voice
from bench.report import Figure

__all__ = ["run_channels"]


def _figures(dicts: list[dict[str, Any]], note: str) -> list[Figure]:
    return [Figure(d["name"], d["value"], d["unit"], d["baseline"], note=note) for d in dicts]


def run_channels(quick: bool, workdir: Path) -> list[Figure]:
    """voice, sms, email and chat figures; ``quick`` shrinks every workload."""
    figures = _figures(
        voice.measure(calls=20 if quick else 300, concurrency=20, workdir=workdir / "voice"),
        "bare aiohttp handler answering fixed TwiML",
    )
    figures += _figures(
        sms.measure(messages=200, repeats=1, warmup=20) if quick else sms.measure(),
        "bare aiohttp handler answering fixed TwiML",
    )
    sizes: dict[str, int] = {"mails": 200, "repeats": 1, "warmup": 10} if quick else {}
    figures += asyncio.run(email.email_figures(**sizes))
    (workdir / "chat").mkdir(exist_ok=True)
    figures += chat.figures(100 if quick else 1000, workdir=workdir / "chat")
    return figures
