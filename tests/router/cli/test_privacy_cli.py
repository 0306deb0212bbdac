"""`switchboard accounts export LOGIN` and `switchboard accounts erase LOGIN` as users run
them: a real process on the router's sqlite store; `accounts export` alone still exports
the directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from queues import Channel, Contact, Direction, Message, open_store
from tests.router.cli.test_cli import switchboard
from tests.router.conftest import ROOT

PHONE = "+48500100200"
WORDS = "internet nie działa od poniedziałku"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


async def a_contact(workdir: Path, account: str, address: str, *, resolve: bool = True) -> str:
    store = await open_store(f"sqlite:///{workdir / 'var' / 'switchboard.db'}")
    try:
        contact = Contact(channel=Channel.SMS, address=address, created_at=1_795_000_000.0)
        await store.intake(contact, Message(Direction.IN, WORDS, 1_795_000_000.0))
        await store.update_contact(contact.id, account=account, verified=True)
        await store.enqueue(contact.id, "technical")
        if resolve:
            assert await store.claim(["technical"], "ania", lease_s=60) is not None
            await store.ack(contact.id, "ania", disposition="solved")
        return contact.id
    finally:
        await store.aclose()


async def test_export_login_writes_the_customers_contacts(workdir: Path) -> None:
    mine = await a_contact(workdir, "jan.kowalski", PHONE)
    await a_contact(workdir, "firma.nowak", "+48600000002")
    done = switchboard("accounts", "export", "jan.kowalski", "-o", "jan.json", cwd=workdir)
    assert done.returncode == 0, done.stderr
    exported = json.loads((workdir / "jan.json").read_text())
    assert exported["login"] == "jan.kowalski"
    assert [c["id"] for c in exported["contacts"]] == [mine]
    assert exported["contacts"][0]["messages"][0]["text"] == WORDS
    assert (workdir / "jan.json").stat().st_mode & 0o077 == 0
    # Without a login: the account directory, as before.
    whole = switchboard("accounts", "export", cwd=workdir)
    assert whole.returncode == 0, whole.stderr
    assert "accounts" in json.loads(whole.stdout)
    unknown = switchboard("accounts", "export", "nobody.here", cwd=workdir)
    assert unknown.returncode == 1 and "nobody.here" in unknown.stderr


async def test_erase_asks_for_yes_and_refuses_open_contacts(workdir: Path) -> None:
    await a_contact(workdir, "jan.kowalski", PHONE)
    open_one = await a_contact(workdir, "jan.kowalski", PHONE, resolve=False)
    dry = switchboard("accounts", "erase", "jan.kowalski", cwd=workdir)
    assert dry.returncode == 2
    assert "2 contacts (2 messages)" in dry.stderr and "--yes" in dry.stderr
    assert open_one in dry.stderr
    refused = switchboard("accounts", "erase", "jan.kowalski", "--yes", cwd=workdir)
    assert refused.returncode == 1 and "still open" in refused.stderr
    db = (workdir / "var" / "switchboard.db").read_bytes()
    assert PHONE.encode() in db  # nothing was erased


async def test_erase_yes_erases_and_is_audited(workdir: Path) -> None:
    mine = await a_contact(workdir, "jan.kowalski", PHONE)
    done = switchboard("accounts", "erase", "jan.kowalski", "--yes", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "erased 1 contacts (1 messages) of jan.kowalski" in done.stdout
    store = await open_store(f"sqlite:///{workdir / 'var' / 'switchboard.db'}")
    try:
        contact = await store.get_contact(mine)
        assert contact.address.startswith("erased:")
        assert [m.text for m in contact.messages] == ["[erased]"]
        [audit] = await store.list_events(kinds=["privacy_erase"])
        assert audit.contact_id == "" and audit.agent is not None
        assert audit.agent.startswith("cli:")
        assert audit.data["account"] == "jan.kowalski" and audit.data["via"] == "cli"
    finally:
        await store.aclose()
    files = [workdir / "var" / "switchboard.db", workdir / "var" / "switchboard.db-wal"]
    dump = b"".join(f.read_bytes() for f in files if f.exists())
    assert PHONE.encode() not in dump and "poniedziałku".encode() not in dump
