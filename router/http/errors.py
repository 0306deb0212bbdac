"""Errors as HTTP answers: one table from the layers' exception trees to status codes.

Every refusal is JSON ``{"error": reason, ...}``. The table is walked along the raised
error's class hierarchy, so a subclass answers like its nearest listed base. What is not in
the table is a bug: aiohttp logs it and answers 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiohttp import web

from channels import SendFailed
from queues import ContactNotFound, InvalidTransition, NotHolder, StoreUnavailable
from router.errors import CannedChanged, DeskError, NoSuchCanned, UnknownIncident

__all__ = ["STATUS", "error_middleware", "error_response", "refuse"]

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The status each error answers with; the store being down is 503 so clients retry.
STATUS: Mapping[type[Exception], int] = {
    StoreUnavailable: 503,
    ContactNotFound: 404,
    UnknownIncident: 404,
    NoSuchCanned: 404,
    CannedChanged: 412,
    NotHolder: 403,
    InvalidTransition: 409,
    DeskError: 422,
    SendFailed: 502,
}


def _status(exc: Exception) -> int | None:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return None


def _details(exc: Exception) -> dict[str, Any]:
    """What a client needs beyond the sentence: the state found, whether to retry."""
    if isinstance(exc, StoreUnavailable):
        return {"error": "the store is unavailable; try again shortly"}
    if isinstance(exc, InvalidTransition):
        return {"error": str(exc), "state": str(exc.state)}
    if isinstance(exc, SendFailed):
        return {"error": str(exc), "retryable": exc.retryable}
    return {"error": str(exc)}


def error_response(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status)


_REFUSALS: Mapping[int, type[web.HTTPClientError]] = {
    400: web.HTTPBadRequest,
    422: web.HTTPUnprocessableEntity,
}


def refuse(status: int, reason: str) -> web.HTTPClientError:
    """A 400 or 422 with a JSON body, to raise from deep in a handler."""
    return _REFUSALS[status](text=json.dumps({"error": reason}), content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer the errors in ``STATUS`` as JSON; anything else propagates (a bug: 500)."""
    structlog.contextvars.clear_contextvars()
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        status = _status(exc)
        if status is None:
            raise
        if status == 503:
            log.warning("store_unavailable", error=str(exc))
        return web.json_response(_details(exc), status=status)
