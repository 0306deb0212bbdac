"""Backoff between tries: a provider's hiccup is tried again later, never in lockstep."""

from __future__ import annotations

import random

import structlog

__all__ = ["backoff_s"]

log = structlog.get_logger(__name__)


def backoff_s(attempt: int, *, first_delay_s: float, max_delay_s: float) -> float:
    """The wait after failed ``attempt`` (1, 2, ...): full jitter under a ceiling that doubles
    from ``first_delay_s`` up to ``max_delay_s``, so many failing sends do not retry in
    lockstep."""
    ceiling = min(first_delay_s * 2 ** (attempt - 1), max_delay_s)
    return random.uniform(0, ceiling)  # jitter, not crypto
