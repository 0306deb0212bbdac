"""The baseline server of the email bench: a bare aiosmtpd sink (every mail answered 250 and
dropped), in a process of its own as `switchboard run` is, with the SMTP options the
router's server uses.

    python -m bench.smtp_sink PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from aiosmtpd.smtp import SMTP

__all__ = ["serve"]


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


async def serve(port: int) -> None:
    """Accept SMTP on 127.0.0.1:``port`` until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            _Sink(),
            data_size_limit=10 * 1024 * 1024,
            enable_SMTPUTF8=True,
            hostname="bench.local",
            ident="Sink ESMTP",
            loop=loop,
        ),
        "127.0.0.1",
        port,
        backlog=1024,
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(sys.argv[1])))
