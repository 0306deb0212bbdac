"""The agent console (``GET /agent``) and the supervisor dashboard (``GET /dashboard``).

The pages are static files (``router/static``) driven by hand-written JavaScript over the
agent API: the token lives in the tab's sessionStorage and goes out as an
``Authorization: Bearer`` header, never in a cookie, so no other site can act for the agent.
Pages and assets carry a Content-Security-Policy without ``'unsafe-inline'``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from router.http.console_api import add_api_routes
from router.http.live import LIVE_SETTINGS, LiveSettings, agent_socket

__all__ = ["CSP", "STATIC_DIR", "add_pages", "security_headers"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Where the pages' scripts and styles are served from.
ASSETS = "/assets/"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_PAGES = {"/agent": "agent.html", "/dashboard": "dashboard.html"}
_ASSETS = frozenset(p.name for p in STATIC_DIR.iterdir() if p.suffix in (".js", ".css"))


def security_headers() -> dict[str, str]:
    """Headers of every page and asset: the CSP, no sniffing, no referrer, no framing."""
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-cache",
    }


def _file(name: str) -> web.FileResponse:
    path = STATIC_DIR / name
    headers = {**security_headers(), "Content-Type": _TYPES[path.suffix]}
    return web.FileResponse(path, headers=headers)


async def page(request: web.Request) -> web.StreamResponse:
    return _file(_PAGES[request.path])


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    # Only the files shipped in the folder, by exact name: no paths, no other types.
    if name not in _ASSETS:
        raise web.HTTPNotFound(text=f"no asset {name!r}", content_type="text/plain")
    return _file(name)


def add_pages(app: web.Application, *, live: LiveSettings | None = None) -> None:
    """Add the pages, their assets, the console's websocket and the API they use."""
    app[LIVE_SETTINGS] = live or LiveSettings()
    for path in _PAGES:
        app.router.add_get(path, page)
    app.router.add_get(ASSETS + "{name}", asset)
    app.router.add_get("/agent/ws", agent_socket)
    add_api_routes(app)
