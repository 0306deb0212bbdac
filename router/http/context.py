"""What the HTTP handlers share: the wired components, under typed aiohttp app keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from channels import Courier
from queues import Store
from router.config import Config
from router.contacts import ContactService
from router.desk import AgentDesk, Presence
from router.identity import AccountDirectory, Agent, AgentDirectory
from router.routing import Routing
from router.stats import Metrics

__all__ = ["AGENT", "CONTEXT", "Context"]


@dataclass(slots=True)
class Context:
    config: Config
    store: Store
    service: ContactService
    desk: AgentDesk
    courier: Courier
    agents: AgentDirectory
    accounts: AccountDirectory
    presence: Presence
    routing: Routing
    metrics: Metrics
    clock: Callable[[], float]
    kpis: Callable[[], Awaitable[dict[str, Any]]]


CONTEXT = web.AppKey("context", Context)
AGENT = web.RequestKey("agent", Agent)  # the authenticated agent of a request
