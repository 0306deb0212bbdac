"""Support for the email tests (no tests here): the real app with the email channel on a
loopback port, customers played by aiosmtplib, the relay by a second aiosmtpd."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import aiosmtplib
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP

from channels.email.adapter import EmailAdapter
from queues import Contact, Store
from router.app.factory import DEMO_TOKENS, create_app
from router.app.wiring import email_adapter
from router.config.load import Config, parse_config
from router.http.context import CONTEXT, Context
from tests.conftest import FakeClock
from tests.router.conftest import ENV, ROOT
from tests.stores import Switchable

MAIL_DIR = Path(__file__).with_name("mail")
CUSTOMER = "jan@example.net"
SUPPORT = "support@example.com"
_ids = itertools.count(1)


def corpus(name: str) -> bytes:
    return (MAIL_DIR / name).read_bytes()


def make_mail(
    *,
    subject: str = "Internet nie działa",
    body: str = "Dzień dobry,\nod rana nie działa mi internet.\n",
    sender: str = CUSTOMER,
    to: str = SUPPORT,
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
    headers: dict[str, str] | None = None,
) -> bytes:
    """A customer's mail as their mail client sends it (UTF-8, RFC 2047 where needed)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    if message_id == "auto":
        message_id = f"<customer-{next(_ids)}@example.net>"
    if message_id:
        mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    return mail.as_bytes(policy=policy.SMTP)


def message_id_of(raw: bytes) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)["Message-ID"])


@dataclass
class Sent:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return "" if body is None else str(body.get_content())

    def __getitem__(self, name: str) -> str:
        value = self.message[name]
        return "" if value is None else str(value)


@dataclass
class RelayHandler:
    """The relay: keeps what it is given; ``answers`` are said instead of 250, in order."""

    received: list[Sent] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers:
            return self.answers.pop(0)
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.received.append(Sent(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        self.arrived.set()
        return "250 2.0.0 relayed"


@asynccontextmanager
async def relay_server() -> AsyncIterator[tuple[RelayHandler, int]]:
    handler = RelayHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="relay.test", loop=loop), "127.0.0.1", 0
    )
    try:
        yield handler, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


FlakyStore = Switchable  # the email tests' name for it


@functools.cache
def _repo_yaml() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"), loader)
    return data


def email_config(tmp_path: Path, relay_port: int | None, **email: Any) -> Config:
    data = copy.deepcopy(_repo_yaml())
    section = data["channels"]["email"]
    section["relay"] = {"host": "127.0.0.1", "port": relay_port} if relay_port else {"host": None}
    section.update(email)
    return parse_config(data, base_dir=tmp_path, env=ENV)


@dataclass
class MailDesk:
    """A running app with the email channel; the customer side, the relay and agents."""

    client: TestClient[web.Request, web.Application]
    adapter: EmailAdapter
    relay: RelayHandler
    store: FlakyStore
    clock: FakeClock
    ctx: Context = field(init=False)
    tokens: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = self.client.app[CONTEXT]
        self.tokens = self.client.app[DEMO_TOKENS]

    async def send(
        self,
        raw: bytes,
        *,
        sender: str = CUSTOMER,
        to: Iterable[str] = (SUPPORT,),
        **options: Any,
    ) -> tuple[int, str]:
        """Deliver ``raw`` over SMTP like a sending server; (code, text) of the answer."""
        try:
            client = aiosmtplib.SMTP(
                hostname="127.0.0.1",
                port=self.adapter.port,
                timeout=10,
                **{"start_tls": False, **options},
            )
            async with client:  # not aiosmtplib.send(): that refuses the null sender "<>"
                _, said = await client.sendmail(sender, list(to), raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return exc.recipients[0].code, exc.recipients[0].message
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code, exc.message
        return int(said.split()[0]) if said[:3].isdigit() else 250, said

    async def api(self, agent: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[agent]}"}
        resp = await self.client.request(method, path, json=body, headers=headers)
        data = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, data

    async def contacts(self) -> list[Contact]:
        return await self.store.inner.list_contacts(channel="email", limit=500)

    async def contact(self, contact_id: str) -> Contact:
        return await self.store.inner.get_contact(contact_id)

    async def replies(self, count: int) -> list[Sent]:
        """Wait until the relay has ``count`` mails (automatic replies are sent after 250)."""
        await self.adapter.drain()
        for _ in range(200):
            if len(self.relay.received) >= count:
                break
            await asyncio.sleep(0.01)
        return self.relay.received


@asynccontextmanager
async def mail_desk(
    store: Store, clock: FakeClock, tmp_path: Path, *, relay: bool = True, **email: Any
) -> AsyncIterator[MailDesk]:
    async with relay_server() as (handler, relay_port):
        config = email_config(tmp_path, relay_port if relay else None, **email)
        flaky = FlakyStore(store)
        built: list[EmailAdapter] = []

        def adapters(ctx: Context) -> list[Any]:
            adapter = email_adapter(ctx, ENV)
            assert isinstance(adapter, EmailAdapter)
            # Any free port: the configured 8025 may be taken on a test machine.
            adapter.settings = dataclasses.replace(adapter.settings, port=0)
            built.append(adapter)
            return [adapter]

        app = create_app(config, flaky, clock=clock, adapters=adapters, env=ENV, reaper=False)
        async with TestClient(TestServer(app)) as client:
            yield MailDesk(client, built[0], handler, flaky, clock)
