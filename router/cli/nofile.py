"""Open files: a router holds one per connection, so the soft limit is raised at start.

Every chat's websocket, every webhook in flight, every agent's console and the store's own
connections are file descriptors. Debian starts a login shell and a systemd service with a
soft limit of 1,024 (the hard limit is 524,288): a router past it cannot accept (asyncio
logs "socket.accept() out of system resource" in a loop and the connection waits in the
listen backlog until the client gives up). On the day of an outage 2,000 open chats are
past it. A process may raise its own soft limit up to the hard one without privileges, as
servers do at start; ``switchboard run`` and ``switchboard call`` do so here. When even the
hard limit is below ``WANTED``, the router says so at start (raise ``LimitNOFILE=`` in the
unit, or ``ulimit -Hn`` for the shell).

At the limit, asyncio logs each failed accept with its traceback, up to a hundred a turn of
the loop (several hundred thousand lines in seconds, measured); ``quiet_accept_errors``
logs them once every ``ACCEPT_LOG_EVERY_S`` with how many there were (``accept_failed``).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["ACCEPT_LOG_EVERY_S", "CAP", "WANTED", "quiet_accept_errors", "raise_open_files"]

log = structlog.get_logger(__name__)

#: At most one ``accept_failed`` line this often while accepts fail.
ACCEPT_LOG_EVERY_S = 10.0
_ACCEPT_FAILED = "socket.accept() out of system resource"

#: The limit asked for when the hard limit is unlimited.
CAP = 1 << 20
#: Below this many open files a router says so at start: 10,000 callers on hold hold no
#: connection, but 2,000 chats and a burst of webhooks do.
WANTED = 16_384


def raise_open_files() -> tuple[int, int]:
    """Raise this process's soft limit of open files to its hard limit (at most ``CAP``);
    returns the soft limit before and after (the same when it could not be raised)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = CAP if hard == resource.RLIM_INFINITY else min(hard, CAP)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # a sandbox that refuses: keep what we have
            return soft, soft
        return soft, target
    return soft, soft


def quiet_accept_errors(
    loop: asyncio.AbstractEventLoop,
    *,
    every_s: float = ACCEPT_LOG_EVERY_S,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Log the loop's failed accepts (out of files, of memory) at most once every
    ``every_s``, with how many failed since the last line; anything else the loop reports
    goes to the handler it had."""
    previous = loop.get_exception_handler()
    failed = 0
    last = -every_s

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        nonlocal failed, last
        if context.get("message") != _ACCEPT_FAILED:
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        failed += 1
        now = clock()
        if now - last >= every_s:
            limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            log.error(
                "accept_failed",
                error=str(context.get("exception")),
                failed=failed,
                open_files_limit=limit,
            )
            failed, last = 0, now

    loop.set_exception_handler(handler)
