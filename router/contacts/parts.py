"""What both paths of an inbound message work with: the quick turn (``quick.py``) and the
locked path (``locked.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from channels import Spoken
from ivr import Engine
from queues import Direction, Message, Store
from router.contacts.flow import FlowHost
from router.contacts.standing import Standings
from router.identity import Account
from router.outages import Outages
from router.routing import Routing
from router.stats import Metrics

__all__ = ["TurnParts"]


@dataclass(frozen=True, slots=True)
class TurnParts:
    store: Store
    engine: Engine
    routing: Routing
    flows: FlowHost
    outages: Outages
    find_account: Callable[[str], Account | None]
    clock: Callable[[], float]
    default_language: str
    languages: tuple[str, ...]
    session_ttl_s: float
    metrics: Metrics | None
    #: The service's standings, once the app has set them (None until then, or off).
    standing: Callable[[], Standings | None]

    def said(self, prompt: Spoken) -> Message:
        """A prompt said now, as the history keeps it."""
        return Message(
            direction=Direction.OUT,
            text=prompt.text,
            at=self.clock(),
            meta={"flow": True},
            template=prompt.template,
            params=prompt.params,
        )
