"""Answers every webhook channel gives a provider it refuses or asks to retry."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from queues import StoreUnavailable

__all__ = ["RETRY_AFTER_S", "refuse", "store_unavailable"]

log = structlog.get_logger(__name__)

#: What a 503 asks the provider to wait before retrying.
RETRY_AFTER_S = 5


def refuse(status: int, reason: str, **extra: Any) -> web.Response:
    """A JSON refusal that says why: 400 malformed, 403 bad signature, 413 too big, ..."""
    return web.json_response({**extra, "error": reason}, status=status)


def store_unavailable(provider: str, exc: StoreUnavailable, **extra: Any) -> web.Response:
    """503 with Retry-After: nothing was acknowledged, so the provider sends it again."""
    log.warning("store_unavailable", provider=provider, error=str(exc))
    response = refuse(503, f"the store is unavailable; {provider} retries later", **extra)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
