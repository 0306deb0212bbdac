"""A store the test can take away, as a backend that cannot be reached."""

from __future__ import annotations

import inspect
from typing import Any

from queues import Store, StoreUnavailable


class Switchable:
    """Wraps a store: while ``down`` (or for the methods in ``failing``) every call raises
    StoreUnavailable; ``failed`` counts those refusals; ``inner`` is the real store."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.down = False
        self.failing: set[str] = set()
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down or name in self.failing:
                self.failed += 1
                raise StoreUnavailable(f"the test took the store away ({name})")
            return await attr(*args, **kwargs)

        return call
