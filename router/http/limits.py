"""One cap on request bodies everywhere (``http.max_body_bytes``).

A body whose Content-Length is over the cap is refused with 413 before a byte of it is
read; a chunked one is cut off where it passes the cap (aiohttp's ``client_max_size``, set
to the same number), and that refusal is JSON with a reason too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["body_limit"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _too_big(size: str, max_bytes: int) -> web.Response:
    return web.json_response(
        {"error": f"the body is {size}; the limit is {max_bytes} bytes", "limit": max_bytes},
        status=413,
    )


def body_limit(max_bytes: int) -> Middleware:
    """The middleware refusing bodies over ``max_bytes`` with a JSON 413."""

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        length = request.content_length
        if length is not None and length > max_bytes:
            return _too_big(f"{length} bytes", max_bytes)
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return _too_big("larger than that", max_bytes)

    return limit
