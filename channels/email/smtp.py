"""The SMTP side of the email channel: an aiosmtpd server on the app's own event loop.

RCPT to anything but the support addresses is refused (550); SIZE is advertised and a
bigger mail refused (552, by aiosmtpd); STARTTLS is offered when a certificate is set.
DATA is answered 250 only once ``take`` has stored the mail, 451 when the store is down or
anything else went wrong, so the sending server keeps the mail and retries: a mail we cannot
read is still taken (the parser never fails), so no mail is refused for its content.

Caps: at most ``max_connections`` sessions at once, ``max_connections_per_ip`` from one
address; a connection past either is greeted ``421`` and closed, so the sender retries
later (logged once a minute per address, ``flood_refused``). DATA is answered within the
ingest deadline (``channels.deadline``): 451 past it, the mail taken when the sender retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP

from channels.deadline import Deadline
from channels.errors import ChannelError
from channels.floods import OpenCounts, RefusalLog
from queues import StoreUnavailable

__all__ = ["MailHandler", "SmtpServer", "load_tls"]

log = structlog.get_logger(__name__)

Take = Callable[[bytes, str, list[str]], Awaitable[str]]

STORE_DOWN = "451 4.3.0 The support desk cannot store mail right now; please try again later"
TEMP_FAIL = "451 4.3.0 A temporary error kept this mail from being taken; please try again later"
TOO_MANY = "421 4.7.0 {host} Too many connections {whose}; please try again later\r\n"


def load_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for STARTTLS; a clear ChannelError when the files do not load."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ChannelError(
            f"email: cannot load the TLS certificate {cert} with key {key}: {exc}; "
            "fix channels.email.tls_cert / tls_key or remove them to run without STARTTLS"
        ) from exc
    return context


class MailHandler:
    """aiosmtpd hooks: who may be written to, and what happens to a mail."""

    def __init__(
        self, addresses: Iterable[str], take: Take, *, deadline: Deadline | None = None
    ) -> None:
        self.addresses = frozenset(a.lower() for a in addresses)
        self._take = take
        self._deadline = deadline or Deadline()
        self.busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.addresses:
            log.info("email_recipient_refused", recipient=address)
            return (
                f"550 5.1.1 <{address}>: no such mailbox here; this server takes mail "
                "for the support addresses only"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.busy += 1
        self._idle.clear()
        try:
            raw = envelope.original_content or b""
            return await self._deadline.run(
                self._take(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
            )
        except StoreUnavailable as exc:
            log.warning("email_store_unavailable", error=str(exc))
            return STORE_DOWN
        except Exception:
            log.exception("email_take_failed")
            return TEMP_FAIL
        finally:
            self.busy -= 1
            if not self.busy:
                self._idle.set()

    async def handle_exception(self, error: Exception) -> str:
        log.error("email_smtp_error", error=repr(error))
        return TEMP_FAIL

    async def idle(self) -> None:
        """Return once no mail is being taken."""
        await self._idle.wait()


class _Smtp(SMTP):
    # aiosmtpd answers 500 to a line over 1,001 bytes; real mail breaks that rule at times
    # and must still be taken. The size limit still bounds the whole mail.
    line_length_limit = 1 << 20

    def __init__(
        self,
        handler: MailHandler,
        live: set[_Smtp],
        caps: OpenCounts,
        refusals: RefusalLog,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._live = live
        self._caps = caps
        self._refusals = refusals
        self._peer_ip: str | None = None  # counted against the caps while set
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # not the STARTTLS hand-over of a counted session
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
            over = self._caps.open(ip)
            if over is not None:
                self._refuse(transport, ip, over)
                return
            self._peer_ip = ip
        super().connection_made(transport)
        self._live.add(self)

    def _refuse(self, transport: asyncio.BaseTransport, ip: str, over: str) -> None:
        self._refused = True
        whose = "from your address" if over == "per_key" else "to this server"
        limit = self._caps.per_key if over == "per_key" else self._caps.total
        self._refusals.refused("smtp_connections", ip, cap=over, limit=limit)
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(TOO_MANY.format(host=self.hostname, whose=whose).encode())
        transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return  # never started: nothing of the session to undo
        if self._peer_ip is not None:
            self._caps.close(self._peer_ip)
            self._peer_ip = None
        self._live.discard(self)
        super().connection_lost(error)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.close()


class SmtpServer:
    """Listens on ``host:port`` (port 0: any free port, see ``port``) in the running loop."""

    def __init__(
        self,
        handler: MailHandler,
        *,
        host: str,
        port: int,
        max_size_bytes: int,
        tls: ssl.SSLContext | None = None,
        hostname: str | None = None,
        max_connections: int = 100,
        max_connections_per_ip: int = 10,
    ) -> None:
        self.handler = handler
        self.host = host
        self._port = port
        self._max_size_bytes = max_size_bytes
        self._tls = tls
        self._hostname = hostname or socket.gethostname()
        self._live: set[_Smtp] = set()
        self.caps = OpenCounts(max_connections_per_ip, max_connections)
        self._refusals = RefusalLog(60.0)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> _Smtp:
        return _Smtp(
            self.handler,
            self._live,
            self.caps,
            self._refusals,
            data_size_limit=self._max_size_bytes,
            enable_SMTPUTF8=True,
            hostname=self._hostname,
            ident="Switchboard ESMTP",
            tls_context=self._tls,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._protocol, self.host, self._port)
        except OSError as exc:
            raise ChannelError(
                f"email: cannot listen for SMTP on {self.host}:{self._port}: "
                f"{exc.strerror or exc}; choose another with channels.email.listen or --smtp"
            ) from exc

    async def aclose(self, *, drain_s: float = 5.0) -> None:
        """Stop listening, let mails being stored finish (up to ``drain_s``), disconnect."""
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_s):
                await self.handler.idle()
        for protocol in list(self._live):
            protocol.abort()
        await self._server.wait_closed()
        self._server = None
        await asyncio.sleep(0)  # let the connections' handler tasks see their cancellation
