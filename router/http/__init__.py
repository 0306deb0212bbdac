"""The HTTP surface: the agent API, the pages, the console websocket, one error table."""

from router.http.api import add_routes
from router.http.complaints_api import add_complaints
from router.http.context import AGENT, CONTEXT, Context
from router.http.errors import STATUS, error_middleware
from router.http.health import add_health_routes
from router.http.limits import body_limit
from router.http.pages import add_pages
from router.http.privacy_api import add_privacy_routes
from router.http.views import contact_view, queue_depths

__all__ = [
    "AGENT",
    "CONTEXT",
    "STATUS",
    "Context",
    "add_complaints",
    "add_health_routes",
    "add_pages",
    "add_privacy_routes",
    "add_routes",
    "body_limit",
    "contact_view",
    "error_middleware",
    "queue_depths",
]
