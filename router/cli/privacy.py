"""`switchboard accounts export LOGIN` and `switchboard accounts erase LOGIN [--yes]`: one
customer's data, on the router's store (``router.privacy``), written to the audit log as
done by ``cli:<user>``."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from queues import Store, StoreUnavailable, now_s
from router.cli.commands import _directory_store, _export
from router.config import Config
from router.identity import AccountDirectory, AccountError, load_secret
from router.privacy import Privacy, PrivacyError, contacts_of

__all__ = ["customer_data"]


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"cli:uid{os.getuid()}"


async def customer_data(config: Config, args: argparse.Namespace) -> int:
    store = await _directory_store(config, "accounts")
    if store is None:
        return 1
    try:
        accounts = AccountDirectory(
            store, load_secret(os.environ, config.data_path), tiers=config.priority.tier
        )
        await accounts.refresh()
        privacy = Privacy(store, accounts, clock=now_s)
        login = str(args.login).strip().lower()
        if args.action == "export":
            document = await privacy.export(login, by=_who(), via="cli")
            _export(json.dumps(document, ensure_ascii=False, indent=2) + "\n", args.output)
            return 0
        if not args.yes:
            return await _preview(store, login)
        erased = await privacy.erase(login, by=_who(), via="cli")
        print(f"erased {erased.contacts} contacts ({erased.messages} messages) of {login}")
        return 0
    except (PrivacyError, AccountError, StoreUnavailable) as exc:
        print(f"switchboard accounts: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()


async def _preview(store: Store, login: str) -> int:
    """What an erase would do, and how to do it."""
    contacts = await contacts_of(store, login)
    messages = 0
    for contact in contacts:
        messages += len((await store.get_contact(contact.id)).messages)
    still_open = [c.id for c in contacts if not c.state.is_final]
    print(
        f"switchboard accounts erase: {login} has {len(contacts)} contacts ({messages} "
        f"messages); nothing was erased. Add --yes to erase them for good.",
        file=sys.stderr,
    )
    if still_open:
        print(f"  still open (resolve them first): {', '.join(still_open)}", file=sys.stderr)
    return 2
