"""The HTTP surface: the agent API, the pages, the console websocket, one error table."""

from router.http.api import add_routes, error_middleware
from router.http.context import CONTEXT, Context
from router.http.pages import add_pages

__all__ = ["CONTEXT", "Context", "add_pages", "add_routes", "error_middleware"]
