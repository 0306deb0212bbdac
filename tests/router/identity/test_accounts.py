"""The account directory: validation, the JSON file, CSV import, HMAC-only codes, the secret."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from router.identity.accounts import (
    Account,
    AccountDirectory,
    AccountError,
    code_matches,
    hash_code,
    load_demo,
    load_secret,
)

KEY = b"test-key-0123456789abcdef"
HEADER = "login,number,code,name,tier,balance,services\n"


@pytest.fixture
def directory(tmp_path: Path) -> AccountDirectory:
    return AccountDirectory(
        tmp_path / "var" / "accounts.json", KEY, tiers=["residential", "business"]
    )


def add_jan(directory: AccountDirectory, **kw: Any) -> Account:
    fields: dict[str, Any] = {
        "name": "Jan Kowalski",
        "tier": "residential",
        "balance": "0.00",
        "services": ["internet-300", "domain jankowalski.pl"],
    }
    return directory.add("jan.kowalski", "1001", "482913", **{**fields, **kw})


def values(data: Any) -> Iterator[Any]:
    """Every key and scalar value in a JSON document."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from values(v)
    elif isinstance(data, list):
        for v in data:
            yield from values(v)
    else:
        yield data


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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


# -- add and find ----------------------------------------------------------------------------
def test_add_then_find_by_login_in_any_case_or_by_number(directory: AccountDirectory) -> None:
    added = add_jan(directory)
    assert directory.find("jan.kowalski") == added
    assert directory.find("  Jan.Kowalski ") == added
    assert directory.find("1001") == added
    assert added.balance == Decimal("0.00")
    assert added.services == ("internet-300", "domain jankowalski.pl")


def test_find_unknown_identifier_returns_none(directory: AccountDirectory) -> None:
    add_jan(directory)
    for identifier in ("nobody", "1002", "", "482913"):
        assert directory.find(identifier) is None


def test_file_is_created_when_missing_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "accounts.json"
    AccountDirectory(path, KEY)
    assert json.loads(path.read_text()) == {"version": 1, "accounts": []}
    assert mode(path) == 0o600


def test_write_keeps_mode_0600_and_leaves_no_temp_files(directory: AccountDirectory) -> None:
    add_jan(directory)
    assert mode(directory.path) == 0o600
    assert [p.name for p in directory.path.parent.iterdir()] == ["accounts.json"]


def test_accounts_survive_reopening(directory: AccountDirectory) -> None:
    added = add_jan(directory, balance=Decimal("-120.50"))
    again = AccountDirectory(directory.path, KEY)
    assert again.all() == [added]
    assert again.find("1001") is not None
    assert again.all()[0].balance == Decimal("-120.50")


def test_an_account_added_by_another_process_is_found(directory: AccountDirectory) -> None:
    other = AccountDirectory(directory.path, KEY)
    add_jan(other)
    assert directory.find("1001") is not None


def test_duplicate_login_is_refused_in_any_case(directory: AccountDirectory) -> None:
    add_jan(directory)
    with pytest.raises(AccountError, match=r"login 'jan.kowalski' already exists"):
        directory.add("Jan.Kowalski", "9999", "111111")
    assert len(directory.all()) == 1


def test_duplicate_number_is_refused(directory: AccountDirectory) -> None:
    add_jan(directory)
    with pytest.raises(AccountError, match=r"'1001' already belongs to 'jan.kowalski'"):
        directory.add("someone.else", "1001", "111111")
    assert directory.find("someone.else") is None


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
def test_add_refuses_bad_values(
    directory: AccountDirectory, login: str, number: str, code: str, extra: Any, match: str
) -> None:
    with pytest.raises(AccountError, match=match):
        directory.add(login, number, code, **extra)
    assert directory.all() == []


def test_bad_code_message_does_not_echo_the_code(directory: AccountDirectory) -> None:
    with pytest.raises(AccountError) as info:
        directory.add("jan.kowalski", "1001", "98765x")
    assert "98765" not in str(info.value)


# -- codes are kept only as HMAC ---------------------------------------------------------------
def test_file_holds_only_the_hmac_of_each_code(directory: AccountDirectory) -> None:
    load_demo(directory, demo_entries())
    text = directory.path.read_text(encoding="utf-8")
    stored = list(values(json.loads(text)))
    for entry in demo_entries():
        code = entry["code"]
        assert code not in text
        assert code not in stored and int(code) not in stored
        assert hash_code(KEY, code) in stored
    assert "code" not in stored


def test_hmac_depends_on_the_key(tmp_path: Path) -> None:
    other_key = b"another-key-0123456789abcdef"
    assert hash_code(KEY, "482913") != hash_code(other_key, "482913")
    mine = add_jan(AccountDirectory(tmp_path / "a.json", KEY))
    theirs = add_jan(AccountDirectory(tmp_path / "b.json", other_key))
    assert mine.code_hmac != theirs.code_hmac
    assert code_matches(KEY, "482913", mine.code_hmac)
    assert not code_matches(other_key, "482913", mine.code_hmac)
    assert not code_matches(KEY, "482914", mine.code_hmac)


def test_public_view_and_repr_leave_out_the_hmac(directory: AccountDirectory) -> None:
    account = add_jan(directory)
    assert account.public() == {
        "login": "jan.kowalski",
        "number": "1001",
        "name": "Jan Kowalski",
        "tier": "residential",
        "balance": "0.00",
        "services": ["internet-300", "domain jankowalski.pl"],
    }
    assert account.code_hmac not in repr(account)


def test_a_short_server_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match=r"server key has 5 bytes"):
        AccountDirectory(tmp_path / "accounts.json", b"short")


# -- CSV import --------------------------------------------------------------------------------
def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_csv_adds_every_row(directory: AccountDirectory, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "\ufeff"  # a byte-order mark, as spreadsheets write it
        + HEADER
        + "jan.kowalski,1001,482913,Jan Kowalski,residential,0.00,internet-300;domain jk.pl\n"
        + '"firma.nowak",2002,739155,"Firma Nowak Sp. z o.o.",business,1520.00,vps-m\n'
        + "\n"
        + "anna.dluzna, 3003 , 115577 ,Anna Dłużna,residential,-120.00,\n",
    )
    assert directory.import_csv(path) == 3
    jan = directory.find("1001")
    assert jan is not None and jan.services == ("internet-300", "domain jk.pl")
    anna = directory.find("anna.dluzna")
    assert anna is not None and anna.balance == Decimal("-120.00") and anna.services == ()
    assert anna.number == "3003" and code_matches(KEY, "115577", anna.code_hmac)
    firma = directory.find("2002")
    assert firma is not None and firma.name == "Firma Nowak Sp. z o.o." and firma.tier == "business"
    assert code_matches(KEY, "739155", firma.code_hmac)
    assert "739155" not in directory.path.read_text()


def test_import_csv_names_the_line_of_a_bad_row_and_imports_nothing(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        HEADER
        + "jan.kowalski,1001,482913,Jan,residential,0.00,\n"
        + "firma.nowak,2002,12,Firma,business,0.00,\n"
        + "anna.dluzna,3003,115577,Anna,residential,-120.00,\n",
    )
    with pytest.raises(AccountError, match=r"line 3: the auth code of login 'firma.nowak'") as info:
        directory.import_csv(path)
    assert "nothing was imported" in str(info.value)
    assert "line 2" not in str(info.value) and "line 4" not in str(info.value)
    assert directory.all() == []
    assert json.loads(directory.path.read_text())["accounts"] == []


def test_import_csv_lists_every_bad_row(directory: AccountDirectory, tmp_path: Path) -> None:
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
        directory.import_csv(path)
    message = str(info.value)
    assert "has 4 bad row(s)" in message
    assert "line 3: login 'jan.kowalski' already exists" in message
    assert "line 4: customer number '1001' already belongs to 'jan.kowalski'" in message
    assert "line 5: it has 3 fields; write 7" in message
    assert "line 6: login 'bad tier' is not valid" in message
    assert directory.all() == []


def test_import_csv_refuses_an_account_already_in_the_directory(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    add_jan(directory)
    path = write_csv(
        tmp_path,
        HEADER
        + "firma.nowak,2002,739155,Firma,business,0.00,\n"
        + "JAN.KOWALSKI,3003,115577,Jan,residential,0.00,\n",
    )
    with pytest.raises(AccountError, match=r"line 3: login 'jan.kowalski' already exists"):
        directory.import_csv(path)
    assert directory.find("firma.nowak") is None


@pytest.mark.parametrize("text", ["", "login,number,code\n", "login,number,pin,name,tier,x,y\n"])
def test_import_csv_refuses_a_wrong_header(
    directory: AccountDirectory, tmp_path: Path, text: str
) -> None:
    with pytest.raises(AccountError, match=r"line 1 has columns .* the header must be login,"):
        directory.import_csv(write_csv(tmp_path, text))


def test_import_csv_of_a_missing_file_says_so(directory: AccountDirectory, tmp_path: Path) -> None:
    with pytest.raises(AccountError, match=r"cannot read .*nope.csv"):
        directory.import_csv(tmp_path / "nope.csv")


def test_a_corrupt_account_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text("{not json")
    with pytest.raises(AccountError, match=r"account file .*accounts.json' cannot be read"):
        AccountDirectory(path, KEY)


# -- demo accounts -----------------------------------------------------------------------------
def test_load_demo_adds_the_configured_demo_accounts_once(directory: AccountDirectory) -> None:
    assert load_demo(directory, demo_entries()) == 3
    assert load_demo(directory, demo_entries()) == 0
    firma = directory.find("2002")
    assert firma is not None and firma.tier == "business" and firma.login == "firma.nowak"
    anna = directory.find("anna.dluzna")
    assert anna is not None and anna.balance == Decimal("-120.00")
    assert code_matches(KEY, "115577", anna.code_hmac)


def test_load_demo_names_an_incomplete_entry(directory: AccountDirectory) -> None:
    with pytest.raises(AccountError, match=r"demo account #2 lacks code"):
        load_demo(directory, [demo_entries()[0], {"login": "x.y", "number": "5"}])
    assert directory.all() == []


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
