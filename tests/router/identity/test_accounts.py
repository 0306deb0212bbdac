"""The account directory: validation, the store, JSON and CSV imports, exports, HMAC-only
codes, the secret."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from queues import Store, open_store
from router.identity.accounts import (
    Account,
    AccountDirectory,
    AccountError,
    code_matches,
    hash_code,
    load_demo,
    load_secret,
)
from router.identity.stored import VERSION_KIND
from tests.router.identity.conftest import mode, values

KEY = b"test-key-0123456789abcdef"
TIERS = ["residential", "business"]
HEADER = "login,number,code,name,tier,balance,services\n"


@pytest.fixture
def directory(store: Store) -> AccountDirectory:
    return AccountDirectory(store, KEY, tiers=TIERS)


async def add_jan(directory: AccountDirectory, **kw: Any) -> Account:
    fields: dict[str, Any] = {
        "name": "Jan Kowalski",
        "tier": "residential",
        "balance": "0.00",
        "services": ["internet-300", "domain jankowalski.pl"],
    }
    return await directory.add("jan.kowalski", "1001", "482913", **{**fields, **kw})


def demo_entries() -> list[dict[str, Any]]:
    """The demo accounts as config.yaml ``accounts.demo`` ships them."""
    return [
        {"login": "jan.kowalski", "number": "1001", "code": "482913", "name": "Jan Kowalski",
         "tier": "residential", "balance": "0.00",
         "services": ["internet-300", "domain jankowalski.pl"]},
        {"login": "firma.nowak", "number": "2002", "code": "739155",
         "name": "Firma Nowak Sp. z o.o.", "tier": "business", "balance": "1520.00",
         "services": ["vps-m", "domain nowak.com.pl", "hosting-pro"]},
        {"login": "anna.dluzna", "number": "3003", "code": "115577", "name": "Anna Dłużna",
         "tier": "residential", "balance": "-120.00", "services": ["internet-100"]},
    ]  # fmt: skip


def old_record(entry: dict[str, Any], key: bytes = KEY) -> dict[str, Any]:
    """A demo entry as an older Switchboard's accounts.json held it: the code as its HMAC."""
    fields = ("login", "number", "name", "tier", "balance", "services")
    return {**{name: entry[name] for name in fields}, "code_hmac": hash_code(key, entry["code"])}


def write_json(path: Path, records: list[dict[str, Any]]) -> Path:
    document = {"version": 1, "accounts": records}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# -- add and find ----------------------------------------------------------------------------
async def test_add_then_find_by_login_in_any_case_or_by_number(
    directory: AccountDirectory,
) -> None:
    added = await add_jan(directory)
    assert directory.find("jan.kowalski") == added
    assert directory.find("  Jan.Kowalski ") == added
    assert directory.find("1001") == added
    assert added.balance == Decimal("0.00")
    assert added.services == ("internet-300", "domain jankowalski.pl")


async def test_find_unknown_identifier_returns_none(directory: AccountDirectory) -> None:
    await add_jan(directory)
    for identifier in ("nobody", "1002", "", "482913"):
        assert directory.find(identifier) is None


async def test_a_new_store_holds_no_accounts(directory: AccountDirectory) -> None:
    await directory.refresh()
    assert directory.all() == []
    assert directory.find("jan.kowalski") is None
    assert await directory.count() == 0
    assert directory.export() == {"version": 1, "accounts": []}


async def test_each_account_is_one_document_in_the_store(
    directory: AccountDirectory, store: Store
) -> None:
    jan = await add_jan(directory)
    assert await store.all_docs("account") == {"jan.kowalski": jan.to_record()}
    assert await directory.count() == 1


async def test_accounts_survive_reopening(directory: AccountDirectory, store: Store) -> None:
    added = await add_jan(directory, balance=Decimal("-120.50"))
    again = AccountDirectory(store, KEY)
    await again.refresh()
    assert again.all() == [added]
    assert again.find("1001") == added
    assert again.all()[0].balance == Decimal("-120.50")
    assert again.all()[0].services == ("internet-300", "domain jankowalski.pl")


async def test_an_account_added_by_another_process_is_found_after_refresh(
    directory: AccountDirectory, store: Store
) -> None:
    await directory.refresh()
    assert await directory.refresh() is False  # nothing written since
    added = await add_jan(AccountDirectory(store, KEY))  # another process, same store
    assert directory.find("1001") is None  # lookups read the index only, not the store
    assert await directory.refresh() is True
    assert directory.find("1001") == added
    assert directory.all() == [added]
    assert await directory.refresh() is False
    assert directory.find("jan.kowalski") == added


async def test_duplicate_login_is_refused_in_any_case(directory: AccountDirectory) -> None:
    await add_jan(directory)
    with pytest.raises(AccountError, match=r"login 'jan.kowalski' already exists"):
        await directory.add("Jan.Kowalski", "9999", "111111")
    assert len(directory.all()) == 1
    assert directory.find("9999") is None


async def test_duplicate_number_is_refused(directory: AccountDirectory, store: Store) -> None:
    await add_jan(directory)
    with pytest.raises(AccountError, match=r"'1001' already belongs to 'jan.kowalski'"):
        await directory.add("someone.else", "1001", "111111")
    assert directory.find("someone.else") is None
    assert sorted(await store.all_docs("account")) == ["jan.kowalski"]


async def test_an_account_another_process_added_is_refused_as_a_duplicate(
    directory: AccountDirectory, store: Store
) -> None:
    await directory.refresh()
    await add_jan(AccountDirectory(store, KEY))  # this directory has not refreshed since
    with pytest.raises(AccountError, match=r"login 'jan.kowalski' already exists"):
        await directory.add("jan.kowalski", "9999", "111111")
    with pytest.raises(AccountError, match=r"'1001' already belongs to 'jan.kowalski'"):
        await directory.add("someone.else", "1001", "111111")
    assert sorted(await store.all_docs("account")) == ["jan.kowalski"]


@pytest.mark.parametrize(
    ("login", "number", "code", "extra", "match"),
    [
        ("ab", "1001", "482913", {}, "login 'ab' is not valid"),
        ("jan kowalski", "1001", "482913", {}, "login 'jan kowalski' is not valid"),
        ("x" * 65, "1001", "482913", {}, "is not valid"),
        ("12345", "1001", "482913", {}, "looks like a customer number"),
        ("jan.k", "10a1", "482913", {}, "customer number '10a1' is not valid"),
        ("jan.k", "", "482913", {}, "customer number '' is not valid"),
        ("jan.k", "1001", "123", {}, "must be 4-8 digits"),
        ("jan.k", "1001", "123456789", {}, "must be 4-8 digits"),
        ("jan.k", "1001", "12a4", {}, "must be 4-8 digits"),
        ("jan.k", "1001", "١٢٣٤", {}, "must be 4-8 digits"),  # Arabic-Indic digits
        ("jan.k", "1001", "4829", {"tier": "gold"}, "tier 'gold' .* use one of business, resi"),
        ("jan.k", "1001", "4829", {"balance": "lots"}, "balance 'lots' .* is not a number"),
        ("jan.k", "1001", "4829", {"balance": "NaN"}, "is not a number"),
    ],
)
async def test_add_refuses_bad_values(
    directory: AccountDirectory,
    store: Store,
    login: str,
    number: str,
    code: str,
    extra: Any,
    match: str,
) -> None:
    with pytest.raises(AccountError, match=match):
        await directory.add(login, number, code, **extra)
    assert directory.all() == []
    assert await store.all_docs("account") == {}


async def test_bad_code_message_does_not_echo_the_code(directory: AccountDirectory) -> None:
    with pytest.raises(AccountError) as info:
        await directory.add("jan.kowalski", "1001", "98765x")
    assert "98765" not in str(info.value)


# -- codes are kept only as HMAC ---------------------------------------------------------------
def assert_hmacs_only(document: Any) -> None:
    """``document`` holds the HMAC of every demo code and no code in the clear."""
    text = json.dumps(document, ensure_ascii=False)
    stored = list(values(document))
    for entry in demo_entries():
        code = entry["code"]
        assert code not in text
        assert code not in stored and int(code) not in stored
        assert hash_code(KEY, code) in stored
    assert "code" not in stored


async def test_the_store_holds_only_the_hmac_of_each_code(
    directory: AccountDirectory, store: Store
) -> None:
    await load_demo(directory, demo_entries())
    docs = await store.all_docs("account")
    assert sorted(docs) == ["anna.dluzna", "firma.nowak", "jan.kowalski"]
    assert_hmacs_only(docs)


async def test_write_file_exports_only_hmacs_with_mode_0600(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    await load_demo(directory, demo_entries())
    path = tmp_path / "export" / "accounts.json"
    path.parent.mkdir()
    path.write_text("an older export\n", encoding="utf-8")
    path.chmod(0o644)
    assert directory.write_file(path) == path
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["accounts.json"]  # no temp file left
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document == directory.export()
    assert document["version"] == 1
    logins = [a["login"] for a in document["accounts"]]
    assert logins == ["anna.dluzna", "firma.nowak", "jan.kowalski"]
    assert_hmacs_only(document)
    assert directory.read_file(path) == directory.all()


async def test_hmac_depends_on_the_key(store: Store) -> None:
    other_key = b"another-key-0123456789abcdef"
    assert hash_code(KEY, "482913") != hash_code(other_key, "482913")
    mine = await add_jan(AccountDirectory(store, KEY))
    theirs = await AccountDirectory(store, other_key).add("jan.other", "1002", "482913")
    assert mine.code_hmac != theirs.code_hmac
    assert code_matches(KEY, "482913", mine.code_hmac)
    assert not code_matches(other_key, "482913", mine.code_hmac)
    assert not code_matches(KEY, "482914", mine.code_hmac)
    assert code_matches(other_key, "482913", theirs.code_hmac)


async def test_public_view_and_repr_leave_out_the_hmac(directory: AccountDirectory) -> None:
    account = await add_jan(directory)
    assert account.public() == {
        "login": "jan.kowalski",
        "number": "1001",
        "name": "Jan Kowalski",
        "tier": "residential",
        "balance": "0.00",
        "services": ["internet-300", "domain jankowalski.pl"],
    }
    assert account.code_hmac not in repr(account)


async def test_a_short_server_key_is_refused(store: Store) -> None:
    with pytest.raises(AccountError, match=r"server key has 5 bytes"):
        AccountDirectory(store, b"short")


# -- CSV import --------------------------------------------------------------------------------
def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    return path


async def test_import_csv_adds_every_row(
    directory: AccountDirectory, store: Store, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "\ufeff"  # a byte-order mark, as spreadsheets write it
        + HEADER
        + "jan.kowalski,1001,482913,Jan Kowalski,residential,0.00,internet-300;domain jk.pl\n"
        + '"firma.nowak",2002,739155,"Firma Nowak Sp. z o.o.",business,1520.00,vps-m\n'
        + "\n"
        + "anna.dluzna, 3003 , 115577 ,Anna Dłużna,residential,-120.00,\n",
    )
    assert await directory.import_csv(path) == 3
    jan = directory.find("1001")
    assert jan is not None and jan.services == ("internet-300", "domain jk.pl")
    anna = directory.find("anna.dluzna")
    assert anna is not None and anna.balance == Decimal("-120.00") and anna.services == ()
    assert anna.number == "3003" and code_matches(KEY, "115577", anna.code_hmac)
    firma = directory.find("2002")
    assert firma is not None and firma.name == "Firma Nowak Sp. z o.o." and firma.tier == "business"
    assert code_matches(KEY, "739155", firma.code_hmac)
    docs = await store.all_docs("account")
    assert sorted(docs) == ["anna.dluzna", "firma.nowak", "jan.kowalski"]
    assert "739155" not in json.dumps(docs)


async def test_import_csv_names_the_line_of_a_bad_row_and_imports_nothing(
    directory: AccountDirectory, store: Store, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        HEADER
        + "jan.kowalski,1001,482913,Jan,residential,0.00,\n"
        + "firma.nowak,2002,12,Firma,business,0.00,\n"
        + "anna.dluzna,3003,115577,Anna,residential,-120.00,\n",
    )
    with pytest.raises(AccountError, match=r"line 3: the auth code of login 'firma.nowak'") as info:
        await directory.import_csv(path)
    assert "nothing was imported" in str(info.value)
    assert "line 2" not in str(info.value) and "line 4" not in str(info.value)
    assert directory.all() == []
    assert await store.all_docs("account") == {}


async def test_import_csv_lists_every_bad_row(
    directory: AccountDirectory, store: Store, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        HEADER
        + "jan.kowalski,1001,482913,Jan,residential,0.00,\n"
        + "jan.kowalski,1002,482913,Jan again,residential,0.00,\n"
        + "other,1001,482913,Other,residential,0.00,\n"
        + "short,1004,482913\n"
        + "bad tier,1005,482913,X,gold,0.00,\n",
    )
    with pytest.raises(AccountError) as info:
        await directory.import_csv(path)
    message = str(info.value)
    assert "has 4 bad row(s)" in message
    assert "line 3: login 'jan.kowalski' already exists" in message
    assert "line 4: customer number '1001' already belongs to 'jan.kowalski'" in message
    assert "line 5: it has 3 fields; write 7" in message
    assert "line 6: login 'bad tier' is not valid" in message
    assert directory.all() == []
    assert await store.all_docs("account") == {}


@pytest.mark.parametrize("added_by", ["this process", "another process"])
async def test_import_csv_refuses_an_account_already_in_the_directory(
    directory: AccountDirectory, store: Store, tmp_path: Path, added_by: str
) -> None:
    await directory.refresh()
    await add_jan(directory if added_by == "this process" else AccountDirectory(store, KEY))
    path = write_csv(
        tmp_path,
        HEADER
        + "firma.nowak,2002,739155,Firma,business,0.00,\n"
        + "JAN.KOWALSKI,3003,115577,Jan,residential,0.00,\n",
    )
    with pytest.raises(AccountError, match=r"line 3: login 'jan.kowalski' already exists"):
        await directory.import_csv(path)
    assert directory.find("firma.nowak") is None
    assert sorted(await store.all_docs("account")) == ["jan.kowalski"]


@pytest.mark.parametrize("text", ["", "login,number,code\n", "login,number,pin,name,tier,x,y\n"])
async def test_import_csv_refuses_a_wrong_header(
    directory: AccountDirectory, tmp_path: Path, text: str
) -> None:
    with pytest.raises(AccountError, match=r"line 1 has columns .* the header must be login,"):
        await directory.import_csv(write_csv(tmp_path, text))


async def test_import_csv_of_a_missing_file_says_so(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    with pytest.raises(AccountError, match=r"cannot read .*nope.csv"):
        await directory.import_csv(tmp_path / "nope.csv")


# -- JSON import -------------------------------------------------------------------------------
async def test_an_older_switchboards_accounts_file_imports_with_working_codes(
    directory: AccountDirectory, store: Store, tmp_path: Path
) -> None:
    stored = await directory.add("jan.kowalski", "1001", "111111", name="Jan (stored)")
    path = write_json(tmp_path / "accounts.json", [old_record(e) for e in demo_entries()])
    assert await directory.import_file(path) == 2
    firma = directory.find("2002")
    assert firma is not None and firma.login == "firma.nowak" and firma.tier == "business"
    assert firma.services == ("vps-m", "domain nowak.com.pl", "hosting-pro")
    assert firma.balance == Decimal("1520.00")
    assert code_matches(KEY, "739155", firma.code_hmac)
    anna = directory.find("anna.dluzna")
    assert anna is not None and anna.balance == Decimal("-120.00") and anna.name == "Anna Dłużna"
    assert code_matches(KEY, "115577", anna.code_hmac)
    # A login already stored keeps its stored account, code included.
    assert directory.find("jan.kowalski") == stored
    assert code_matches(KEY, "111111", stored.code_hmac)
    assert not code_matches(KEY, "482913", stored.code_hmac)
    assert sorted(await store.all_docs("account")) == ["anna.dluzna", "firma.nowak", "jan.kowalski"]
    other = AccountDirectory(store, KEY)  # another process sees the import
    await other.refresh()
    assert other.all() == directory.all()
    assert await directory.import_file(path) == 0


async def test_an_export_imports_into_another_store(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    await load_demo(directory, demo_entries())
    path = directory.write_file(tmp_path / "accounts.json")
    assert await directory.import_file(path) == 0  # every login is stored already
    elsewhere = await open_store("memory://")
    try:
        copy = AccountDirectory(elsewhere, KEY, tiers=TIERS)
        assert await copy.import_file(path) == 3
        assert copy.all() == directory.all()
        anna = copy.find("3003")
        assert anna is not None and code_matches(KEY, "115577", anna.code_hmac)
    finally:
        await elsewhere.aclose()


async def test_import_file_refuses_a_new_account_with_a_stored_number(
    directory: AccountDirectory, store: Store, tmp_path: Path
) -> None:
    await add_jan(directory)
    firma, anna = demo_entries()[1:]
    path = write_json(
        tmp_path / "accounts.json", [old_record(firma), old_record({**anna, "number": "1001"})]
    )
    with pytest.raises(AccountError, match=r"'1001' already belongs to 'jan.kowalski'"):
        await directory.import_file(path)
    assert directory.find("firma.nowak") is None
    assert sorted(await store.all_docs("account")) == ["jan.kowalski"]


GOOD = json.dumps(old_record(demo_entries()[0]))


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"\xff\xfe not UTF-8",
        b"[]",
        b'{"version": 1}',
        b'{"version": 1, "accounts": [' + GOOD.encode() + b', {"login": "x.y"}]}',
        b'{"version": 1, "accounts": [' + GOOD.replace('"0.00"', '"lots"').encode() + b"]}",
    ],
    ids=["not-json", "empty", "not-utf8", "a-list", "no-accounts", "a-field-missing", "balance"],
)
async def test_import_file_of_a_broken_file_names_it_and_imports_nothing(
    directory: AccountDirectory, store: Store, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    match = rf"account file {re.escape(repr(str(path)))} cannot be read .*restore it from a backup"
    with pytest.raises(AccountError, match=match):
        await directory.import_file(path)
    assert directory.all() == []
    assert await store.all_docs("account") == {}


async def test_a_broken_stored_account_is_reported(
    directory: AccountDirectory, store: Store
) -> None:
    await store.put_doc("account", "x.y", {"login": "x.y"})
    await store.put_doc(VERSION_KIND, "account", {"changed": "by hand"})
    with pytest.raises(AccountError, match=r"a stored account record cannot be read .*'number'"):
        await directory.refresh()


# -- demo accounts -----------------------------------------------------------------------------
async def test_load_demo_adds_the_configured_demo_accounts_once(
    directory: AccountDirectory, store: Store
) -> None:
    assert await load_demo(directory, demo_entries()) == 3
    assert await load_demo(directory, demo_entries()) == 0
    # Another process starting the demo on the same store adds none either.
    assert await load_demo(AccountDirectory(store, KEY, tiers=TIERS), demo_entries()) == 0
    assert await directory.count() == 3
    firma = directory.find("2002")
    assert firma is not None and firma.tier == "business" and firma.login == "firma.nowak"
    anna = directory.find("anna.dluzna")
    assert anna is not None and anna.balance == Decimal("-120.00")
    assert code_matches(KEY, "115577", anna.code_hmac)


async def test_load_demo_names_an_incomplete_entry(
    directory: AccountDirectory, store: Store
) -> None:
    with pytest.raises(AccountError, match=r"demo account #2 lacks code"):
        await load_demo(directory, [demo_entries()[0], {"login": "x.y", "number": "5"}])
    assert directory.all() == []
    assert await store.all_docs("account") == {}


# -- the server secret ------------------------------------------------------------------------
def test_secret_comes_from_the_environment(tmp_path: Path) -> None:
    secret = "s" * 16
    assert load_secret({"SWITCHBOARD_SECRET": secret}, tmp_path) == secret.encode()
    assert not (tmp_path / "secret").exists()


def test_a_short_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match=r"SWITCHBOARD_SECRET is 9 characters long") as info:
        load_secret({"SWITCHBOARD_SECRET": "tooshort!"}, tmp_path)
    assert "tooshort!" not in str(info.value)


def test_without_env_a_secret_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_secret({"SWITCHBOARD_SECRET": ""}, tmp_path / "var")
    path = tmp_path / "var" / "secret"
    assert mode(path) == 0o600
    assert len(first) >= 32
    assert load_secret({}, tmp_path / "var") == first
    assert [p.name for p in path.parent.iterdir()] == ["secret"]
    assert load_secret({}, tmp_path / "elsewhere") != first


def test_a_damaged_secret_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("abc\n")
    with pytest.raises(AccountError, match=r"secret file .* holds 3 characters; delete it"):
        load_secret({}, tmp_path)


async def test_import_file_refuses_a_missing_file_and_records_add_would_refuse(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    with pytest.raises(AccountError, match="does not exist"):
        await directory.import_file(tmp_path / "typo.json")
    good = await add_jan(directory)
    bad_records = [
        {**good.to_record(), "login": "NOT VALID"},
        {**good.to_record(), "login": "ewa", "number": "x"},
        {**good.to_record(), "login": "ewa", "number": "77", "tier": "gold"},
        {**good.to_record(), "login": "ewa", "number": "77", "balance": "NaN"},
        {**good.to_record(), "login": "ewa", "number": "77", "code_hmac": "482913"},
    ]
    for record in bad_records:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"version": 1, "accounts": [record]}))
        with pytest.raises(AccountError, match=r"bad\.json"):
            await directory.import_file(path)
    assert [a.login for a in directory.all()] == ["jan.kowalski"]
