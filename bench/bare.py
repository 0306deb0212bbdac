"""The baseline server of the ingest bench: a bare aiohttp handler, in a process of its own
as the router is, that reads the posted form and answers a fixed TwiML.

    python -m bench.bare PORT
"""

from __future__ import annotations

import sys

from aiohttp import web

__all__ = ["bare_app"]

FIXED_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Dzień dobry! Podaj login '
    "i kod autoryzacyjny.</Say></Response>"
)


def bare_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=FIXED_TWIML, content_type="application/xml")

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/twilio/sms", handler)
    app.router.add_post("/twilio/voice", handler)
    app.router.add_get("/readyz", ready)
    return app


if __name__ == "__main__":
    web.run_app(bare_app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
