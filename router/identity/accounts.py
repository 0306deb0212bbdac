"""Customer accounts: who may be verified, and the server key their auth codes hash under.

    AccountError (ValueError)   a bad login, number, code, tier, balance, CSV row, account
                                file or secret; the message names it and says what to do

Auth codes are kept only as HMAC-SHA256 under a server key and compared in constant time.
The key is ``SWITCHBOARD_SECRET`` from the environment. When it is unset, ``load_secret``
generates one once into ``<data_dir>/secret`` (mode 0600) so the demo works out of the box;
every later start reuses that file. Several hosts sharing one store must set the same
``SWITCHBOARD_SECRET``: a code hashed under one key never matches under another.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from queues import Store
from router.errors import AccountError
from router.identity.fees import (
    DEMO_MONTHLY_FEES,
    MonthlyFee,
    ServiceType,
    demo_fees,
    fees_record,
    parse_fees,
    parse_service_types,
    service_types_of,
)
from router.identity.secret import MIN_SECRET_CHARS, SECRET_ENV, load_secret
from router.identity.stored import StoredDirectory

__all__ = [
    "CSV_COLUMNS",
    "CSV_OPTIONAL_COLUMNS",
    "DEFAULT_TIER",
    "MIN_SECRET_CHARS",
    "SECRET_ENV",
    "Account",
    "AccountDirectory",
    "AccountError",
    "code_matches",
    "hash_code",
    "load_demo",
    "load_secret",
]

DEFAULT_TIER = "residential"
CSV_COLUMNS = ("login", "number", "code", "name", "tier", "balance", "services")
#: Columns a CSV file may add (older files lack them): ``service_types`` (``;``-separated),
#: ``fees`` (``internet:2026-10=59.99;...``). A missing or empty cell means none given.
CSV_OPTIONAL_COLUMNS = ("service_types", "fees")

_LOGIN = re.compile(r"[a-z0-9._-]{3,64}")
_NUMBER = re.compile(r"[0-9]{1,20}")
_CODE = re.compile(r"[0-9]{4,8}")


def hash_code(key: bytes, code: str) -> str:
    """The HMAC-SHA256 of an auth code under the server key, as hex."""
    return hmac.new(key, code.encode("utf-8"), hashlib.sha256).hexdigest()


def code_matches(key: bytes, code: str, code_hmac: str) -> bool:
    """Whether ``code`` hashes to ``code_hmac``, compared in constant time."""
    return hmac.compare_digest(hash_code(key, code).encode(), code_hmac.encode())


@dataclass(frozen=True, slots=True)
class Account:
    login: str
    number: str
    name: str
    tier: str
    balance: Decimal
    services: tuple[str, ...]
    code_hmac: str = field(repr=False)  # kept out of repr so it never reaches a log line
    #: Which compensation rules apply (given, or implied by ``services``).
    service_types: tuple[ServiceType, ...] = ()
    #: Monthly fees by service type and billing period (outage compensation).
    fees: tuple[MonthlyFee, ...] = ()

    def public(self) -> dict[str, Any]:
        """What the API may return: everything but the code's HMAC."""
        return {
            "login": self.login,
            "number": self.number,
            "name": self.name,
            "tier": self.tier,
            "balance": str(self.balance),
            "services": list(self.services),
        }

    def to_record(self) -> dict[str, Any]:
        return {
            **self.public(),
            "code_hmac": self.code_hmac,
            "service_types": [str(t) for t in self.service_types],
            "fees": fees_record(self.fees),
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Account:
        """A stored record or an exported one; one from before outage compensation (no
        ``service_types``, no ``fees``) gets the types its services imply and no fees."""
        fields = {name: str(data[name]) for name in ("login", "number", "name", "tier")}
        balance, services = Decimal(str(data["balance"])), tuple(map(str, data["services"]))
        types, login = data.get("service_types"), fields["login"]
        return cls(
            **fields,
            balance=balance,
            services=services,
            code_hmac=str(data["code_hmac"]),
            service_types=(
                service_types_of(services) if types is None else parse_service_types(types, login)
            ),
            fees=parse_fees(data.get("fees") or {}, login),
        )


def _balance(value: object, login: str) -> Decimal:
    try:
        balance = Decimal(str(value).strip() or "0.00")
    except InvalidOperation:
        balance = Decimal("NaN")
    if not balance.is_finite():
        raise AccountError(
            f"balance {value!r} of login {login!r} is not a number; write it like 120.00 or -120.00"
        )
    return balance


def _claim(account: Account, by_login: dict[str, Account], by_number: dict[str, str]) -> None:
    if account.login in by_login:
        raise AccountError(f"login {account.login!r} already exists; choose another login")
    owner = by_number.get(account.number)
    if owner is not None:
        raise AccountError(
            f"customer number {account.number!r} already belongs to {owner!r}; choose another"
        )
    by_login[account.login] = account
    by_number[account.number] = account.login


class AccountDirectory(StoredDirectory[Account]):
    """Accounts in the store, found by login or customer number (``refresh`` picks up what
    other processes wrote, e.g. ``switchboard accounts add``).

    Only the HMAC of each auth code is stored. JSON (``export``, ``import_file``) and CSV
    (``import_csv``) files are imports and exports.
    """

    kind = "account"
    key = "accounts"
    what = "account file"
    advice = "restore it from a backup, or import the accounts again"
    error = AccountError

    def __init__(self, store: Store, key: bytes, *, tiers: Iterable[str] = ()) -> None:
        if len(key) < MIN_SECRET_CHARS:
            raise AccountError(f"the server key has {len(key)} bytes; use load_secret for one")
        self._key = key
        self._tiers = frozenset(tiers)  # empty: any tier
        self._by_login: dict[str, Account] = {}
        self._by_number: dict[str, str] = {}
        super().__init__(store)

    def _parse(self, record: Any) -> Account:
        return Account.from_record(record)

    def _dump(self, record: Account) -> dict[str, Any]:
        return record.to_record()

    def _id_of(self, record: Account) -> str:
        return record.login

    def _check(self, record: Account) -> None:
        if not _LOGIN.fullmatch(record.login) or record.login.isdigit():
            raise AccountError(f"login {record.login!r} is not valid")
        if not _NUMBER.fullmatch(record.number):
            raise AccountError(
                f"customer number {record.number!r} of {record.login!r} is not valid"
            )
        if self._tiers and record.tier not in self._tiers:
            raise AccountError(f"tier {record.tier!r} of login {record.login!r} is not configured")
        _balance(record.balance, record.login)
        if not re.fullmatch(r"[0-9a-f]{64}", record.code_hmac):
            raise AccountError(f"the code HMAC of login {record.login!r} is not 64 hex digits")

    def _index(self, records: list[Account]) -> None:
        self._by_login = {a.login: a for a in records}
        self._by_number = {a.number: a.login for a in records}

    def find(self, identifier: str) -> Account | None:
        """The account with this login (any case) or customer number, or None."""
        ident = identifier.strip().lower()
        login = self._by_number.get(ident, ident)
        return self._by_login.get(login)

    def all(self) -> list[Account]:
        return [self._by_login[login] for login in sorted(self._by_login)]

    def build(self, login: str, number: str, code: str, **fields: Any) -> Account:
        """Validate one account without storing it (``add`` takes the same arguments)."""
        login = str(login).strip().lower()
        if not _LOGIN.fullmatch(login):
            raise AccountError(
                f"login {login!r} is not valid; use 3-64 characters of a-z, 0-9, '.', '_', '-'"
            )
        if login.isdigit():
            raise AccountError(f"login {login!r} looks like a customer number; add a letter")
        number = str(number).strip()
        if not _NUMBER.fullmatch(number):
            raise AccountError(f"customer number {number!r} is not valid; use 1-20 digits 0-9")
        code = str(code).strip()
        if not _CODE.fullmatch(code):
            # The code itself stays out of the message: messages get printed and logged.
            raise AccountError(f"the auth code of login {login!r} must be 4-8 digits 0-9")
        tier = str(fields.get("tier") or DEFAULT_TIER).strip()
        if self._tiers and tier not in self._tiers:
            raise AccountError(
                f"tier {tier!r} of login {login!r} is not configured; use one of "
                f"{', '.join(sorted(self._tiers))} (config.yaml priority.tier)"
            )
        services = fields.get("services") or ()
        if isinstance(services, str):
            services = services.split(";")
        kept = tuple(s for s in (str(x).strip() for x in services) if s)
        types = fields.get("service_types")
        return Account(
            login=login,
            number=number,
            name=str(fields.get("name") or "").strip(),
            tier=tier,
            balance=_balance(fields.get("balance", "0.00"), login),
            services=kept,
            code_hmac=hash_code(self._key, code),
            # None or empty: what the services imply; an old file's rows give neither.
            service_types=parse_service_types(types, login) if types else service_types_of(kept),
            fees=parse_fees(fields.get("fees") or (), login),
        )

    async def add(
        self,
        login: str,
        number: str,
        code: str,
        *,
        name: str = "",
        tier: str = DEFAULT_TIER,
        balance: Decimal | str | int = "0.00",
        services: Iterable[str] = (),
    ) -> Account:
        """Add one account; a login or number already present is refused."""
        account = self.build(
            login, number, code, name=name, tier=tier, balance=balance, services=tuple(services)
        )
        await self.add_all([account])
        return account

    async def add_all(self, accounts: Iterable[Account]) -> None:
        """Store built accounts: all of them, or none when one is a duplicate."""
        await self.refresh()
        by_login, by_number = dict(self._by_login), dict(self._by_number)
        new = list(accounts)
        for account in new:
            _claim(account, by_login, by_number)
        await self._write(new, new_only=True)

    async def import_file(self, path: str | os.PathLike[str]) -> int:
        """Import a JSON export (``export``, or an accounts file of an older Switchboard):
        the accounts whose login is not stored yet. Returns how many were added."""
        await self.refresh()
        new = [a for a in self.read_file(path) if a.login not in self._by_login]
        await self.add_all(new)
        return len(new)

    async def import_csv(self, path: str | os.PathLike[str]) -> int:
        """Import a CSV file (header ``login,number,code,name,tier,balance,services``,
        services separated by ``;``, optionally ``service_types`` and ``fees`` too). A bad row
        refuses the whole file. Returns the count."""
        try:
            rows = await asyncio.to_thread(_csv_rows, path)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise AccountError(f"cannot read {str(path)!r} ({exc}); give a UTF-8 CSV file") from exc
        await self.refresh()
        return await self._import_rows(rows, str(path))

    async def _import_rows(self, rows: list[list[str]], where: str) -> int:
        header = [h.strip().lower() for h in (rows[0] if rows else [])]
        extra = [h for h in header if h not in CSV_COLUMNS]
        if (
            sorted(h for h in header if h in CSV_COLUMNS) != sorted(CSV_COLUMNS)
            or any(h not in CSV_OPTIONAL_COLUMNS for h in extra)
            or len(set(header)) != len(header)
        ):
            raise AccountError(
                f"{where} line 1 has columns {','.join(header) or '(none)'}; the header must "
                f"be {','.join(CSV_COLUMNS)} (and optionally "
                f"{','.join(CSV_OPTIONAL_COLUMNS)}); nothing was imported"
            )
        by_login, by_number = dict(self._by_login), dict(self._by_number)
        errors: list[str] = []
        new: list[Account] = []
        for line_num, row in enumerate(rows[1:], 2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                if len(row) != len(header):
                    raise AccountError(f"it has {len(row)} fields; write {len(header)}")
                account = self.build(**dict(zip(header, row, strict=True)))
                _claim(account, by_login, by_number)
                new.append(account)
            except AccountError as exc:
                errors.append(f"line {line_num}: {exc}")
        if errors:
            shown = "; ".join(errors[:10]) + ("; ..." if len(errors) > 10 else "")
            raise AccountError(
                f"{where} has {len(errors)} bad row(s) and nothing was imported; fix them and "
                f"import the file again: {shown}"
            )
        await self._write(new, new_only=True)
        return len(new)


def _csv_rows(path: str | os.PathLike[str]) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


async def load_demo(
    directory: AccountDirectory,
    demo_entries: Iterable[Mapping[str, Any]],
    *,
    now: float | None = None,
    zone: str = "Europe/Warsaw",
) -> int:
    """Add the demo accounts (config.yaml ``accounts.demo``) whose login is absent. An entry
    without ``fees`` is billed ``DEMO_MONTHLY_FEES`` for the three billing periods up to
    ``now`` (default: the current time), so the demo has compensation to show."""
    await directory.refresh()
    at = time.time() if now is None else now
    new: list[Account] = []
    for n, entry in enumerate(demo_entries, 1):
        missing = {"login", "number", "code"} - set(entry)
        if missing:
            raise AccountError(
                f"demo account #{n} lacks {', '.join(sorted(missing))}; add it in config.yaml "
                "accounts.demo"
            )
        if directory.find(str(entry["login"])) is None:
            fields = {k: v for k, v in entry.items() if k not in ("login", "number", "code")}
            monthly = DEMO_MONTHLY_FEES.get(str(entry["login"]))
            if "fees" not in fields and monthly:
                fields["fees"] = demo_fees(monthly, now=at, zone=zone)
            new.append(directory.build(entry["login"], entry["number"], entry["code"], **fields))
    await directory.add_all(new)
    return len(new)
