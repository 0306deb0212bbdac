"""The email bench's load generator, one process of several: a plain SMTP client on asyncio
streams (no SMTP library: a few bytes written and a reply line read per command, so the
client costs far less than the server it drives).

    python -m bench.smtp_load PORT MAILS CONNECTIONS TAG

It makes its ``MAILS`` mails (Message-IDs unique by ``TAG``), opens ``CONNECTIONS``
sessions (EHLO answered), prints ``ready``, waits for a line on stdin, sends every mail
(MAIL, RCPT, DATA, the message) spread over the sessions, QUITs, and prints one JSON line:
mails sent, monotonic start and end, its own CPU seconds over the sending, and each mail's
milliseconds from MAIL to the 250 after the message. Any reply but the expected one fails
the process (exit 1, the reply printed).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

__all__ = ["make_mails"]

SENDER = "customer@example.net"
RECIPIENT = "support@example.com"
BODY = (
    "Dzień dobry,\n\nod wczoraj wieczorem internet działa bardzo wolno, a router co kilka "
    "minut się rozłącza. Restart nie pomógł. Proszę o sprawdzenie łącza.\n\n"
    "Pozdrawiam\nJan Kowalski\n"
) * 4


class SmtpRefused(Exception):
    """The server answered a command with another code than the one expected."""


def make_mails(count: int, tag: str) -> list[bytes]:
    """``count`` customer mails as sent on the wire in DATA (CRLF, dot-stuffed, ending in
    the lone dot); 500 senders, each mail a new subject and Message-ID."""
    mails = []
    for n in range(count):
        mail = EmailMessage()
        mail["From"] = f"customer{n % 500}@example.net"
        mail["To"] = RECIPIENT
        mail["Subject"] = f"Internet nie działa ({tag}/{n})"
        mail["Message-ID"] = f"<bench-{tag}-{n}@example.net>"
        mail.set_content(BODY)
        raw = mail.as_bytes(policy=SMTP_POLICY)
        if not raw.endswith(b"\r\n"):
            raw += b"\r\n"
        if raw.startswith(b"."):
            raw = b"." + raw
        mails.append(raw.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    return mails


class _Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> _Session:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = cls(reader, writer)
        await session._reply(b"220")
        await session.command(b"EHLO bench.client\r\n", b"250")
        return session

    async def _reply(self, code: bytes) -> None:
        while True:
            line = await self._reader.readline()
            if not line.startswith(code):
                raise SmtpRefused(f"expected {code.decode()}, got {line[:200]!r}")
            if line[3:4] != b"-":  # the last line of a (multi-line) reply
                return

    async def command(self, line: bytes, code: bytes) -> None:
        self._writer.write(line)
        await self._reply(code)

    async def send(self, data: bytes) -> None:
        await self.command(b"MAIL FROM:<" + SENDER.encode() + b">\r\n", b"250")
        await self.command(b"RCPT TO:<" + RECIPIENT.encode() + b">\r\n", b"250")
        await self.command(b"DATA\r\n", b"354")
        await self.command(data, b"250")

    async def close(self) -> None:
        await self.command(b"QUIT\r\n", b"221")
        self._writer.close()
        await self._writer.wait_closed()


async def _run(port: int, mails: Sequence[bytes], connections: int) -> dict[str, object]:
    sessions = [await _Session.open(port) for _ in range(connections)]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    latencies_ms: list[float] = []

    async def deliver(session: _Session, share: Sequence[bytes]) -> None:
        for data in share:
            start = time.perf_counter()
            await session.send(data)
            latencies_ms.append((time.perf_counter() - start) * 1e3)

    cpu0, start = time.process_time(), time.monotonic()
    await asyncio.gather(*(deliver(s, mails[i::connections]) for i, s in enumerate(sessions)))
    end, cpu = time.monotonic(), time.process_time() - cpu0
    for session in sessions:
        await session.close()
    return {
        "sent": len(latencies_ms),
        "start": start,
        "end": end,
        "cpu_s": cpu,
        "latencies_ms": [round(ms, 3) for ms in latencies_ms],
    }


def main(argv: Sequence[str]) -> int:
    port, count, connections, tag = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    mails = make_mails(count, tag)
    try:
        result = asyncio.run(_run(port, mails, connections))
    except (SmtpRefused, OSError) as exc:
        print(f"failed: {exc}", flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
