"""Accounts' service types and monthly fees (outage compensation): parsing, the store, JSON
and CSV imports, older files without them, and the demo's bills."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queues import Store
from router.identity.accounts import AccountDirectory, AccountError, load_demo
from router.identity.fees import (
    MonthlyFee,
    ServiceType,
    demo_fees,
    fee_table,
    parse_fees,
    parse_service_types,
    period_bounds,
    period_of,
    service_types_of,
)
from tests.router.identity.test_accounts import KEY, TIERS, demo_entries, old_record, write_json

INTERNET, TELEPHONE, UNIVERSAL = ServiceType.INTERNET, ServiceType.TELEPHONE, ServiceType.UNIVERSAL


@pytest.fixture
def directory(store: Store) -> AccountDirectory:
    return AccountDirectory(store, KEY, tiers=TIERS)


@pytest.mark.parametrize(
    ("services", "types"),
    [
        (["internet-300", "domain jankowalski.pl"], (INTERNET,)),
        (["vps-m", "domain nowak.com.pl", "hosting-pro"], ()),
        (["VoIP home", "fibre_1000"], (TELEPHONE, INTERNET)),
        (["universal line", "phone-basic", "lte-50"], (UNIVERSAL, TELEPHONE, INTERNET)),
        (["internetowy sklep"], ()),  # the first word must be the type, not contain it
    ],
)
def test_services_imply_service_types(services: list[str], types: tuple[ServiceType]) -> None:
    assert service_types_of(services) == types


def test_fees_parse_from_json_strings_and_records_alike() -> None:
    expected = (
        MonthlyFee(INTERNET, "2026-10", Decimal("59.90")),
        MonthlyFee(INTERNET, "2026-11", Decimal("59.99")),
        MonthlyFee(TELEPHONE, "2026-11", Decimal("30.00")),
    )
    as_json = {"internet": {"2026-11": "59.99", "2026-10": "59.9"}, "telephone": {"2026-11": 30}}
    assert parse_fees(as_json, "x") == expected
    one_string = "internet:2026-11=59.99;internet:2026-10=59.90;telephone:2026-11=30"
    assert parse_fees(one_string, "x") == expected
    several = ["internet:2026-11=59.99", "internet:2026-10=59.9;telephone:2026-11=30"]
    assert parse_fees(several, "x") == expected
    assert parse_fees(list(expected), "x") == expected
    assert fee_table(expected)[INTERNET] == {
        "2026-10": Decimal("59.90"),
        "2026-11": Decimal("59.99"),
    }


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("fax:2026-11=10", "names no known service type"),
        ("internet:2026-13=10", "no billing period YYYY-MM"),
        ("internet:11.2026=10", "no billing period YYYY-MM"),
        ("internet:2026-11=dziesięć", "is not an amount in PLN"),
        ("internet:2026-11=-5", "is not an amount in PLN"),
        ("internet:2026-11=5.001", "is not an amount in PLN"),
        ("internet:2026-11=NaN", "is not an amount in PLN"),
        ({"internet": "59.99"}, "not a mapping of billing period to amount"),
    ],
)
def test_bad_fees_are_refused_naming_the_login(value: object, complaint: str) -> None:
    with pytest.raises(AccountError, match=complaint) as caught:
        parse_fees(value, "ewa.kowal")
    assert "ewa.kowal" in str(caught.value)


def test_service_types_parse_and_refuse_unknown_ones() -> None:
    assert parse_service_types("internet, universal", "x") == (UNIVERSAL, INTERNET)
    assert parse_service_types(["TELEPHONE"], "x") == (TELEPHONE,)
    with pytest.raises(AccountError, match="service type 'fax' of login 'x' is not known"):
        parse_service_types("fax", "x")


def test_billing_periods_are_local_months() -> None:
    warsaw = ZoneInfo("Europe/Warsaw")
    # 31 Oct 23:30 UTC is already 1 Nov in Warsaw
    late = datetime(2026, 10, 31, 23, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert period_of(late, "Europe/Warsaw") == "2026-11"
    start, end = period_bounds("2026-12", "Europe/Warsaw")
    assert datetime.fromtimestamp(start, warsaw) == datetime(2026, 12, 1, tzinfo=warsaw)
    assert datetime.fromtimestamp(end, warsaw) == datetime(2027, 1, 1, tzinfo=warsaw)


async def test_built_accounts_keep_types_and_fees_in_the_store(
    directory: AccountDirectory, store: Store
) -> None:
    account = directory.build(
        "ewa.kowal", "4004", "246810", services="internet-600;voip", fees="internet:2026-11=60"
    )
    assert account.service_types == (TELEPHONE, INTERNET)
    await directory.add_all([account])
    docs = await store.all_docs("account")
    assert docs["ewa.kowal"]["service_types"] == ["telephone", "internet"]
    assert docs["ewa.kowal"]["fees"] == {"internet": {"2026-11": "60.00"}}
    other = AccountDirectory(store, KEY, tiers=TIERS)
    await other.refresh()
    assert other.find("ewa.kowal") == account
    given = directory.build(
        "ola.tel", "5005", "135791", services="internet-1", service_types="universal"
    )
    assert given.service_types == (UNIVERSAL,)  # named types win over what services imply


async def test_an_export_round_trips_types_and_fees(
    directory: AccountDirectory, store: Store, tmp_path: Path
) -> None:
    account = directory.build(
        "ewa.kowal", "4004", "246810", services="internet-600", fees="internet:2026-11=60.00"
    )
    await directory.add_all([account])
    path = directory.write_file(tmp_path / "export.json")
    assert directory.read_file(path) == [account]


async def test_an_older_export_without_types_or_fees_still_imports(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "old.json", [old_record(e) for e in demo_entries()])
    assert await directory.import_file(path) == 3
    jan = directory.find("jan.kowalski")
    assert jan is not None and jan.service_types == (INTERNET,) and jan.fees == ()
    firma = directory.find("firma.nowak")
    assert firma is not None and firma.service_types == ()


async def test_csv_takes_the_optional_columns_and_older_files_alike(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    new = tmp_path / "new.csv"
    new.write_text(
        "login,number,code,name,tier,balance,services,service_types,fees\n"
        "ewa.kowal,4004,246810,Ewa,residential,0.00,internet-600,internet;telephone,"
        "internet:2026-11=60.00;telephone:2026-11=30.00\n"
        "ola.tel,5005,135791,Ola,residential,0.00,phone-basic,,\n",
        encoding="utf-8",
    )
    assert await directory.import_csv(new) == 2
    ewa, ola = directory.find("ewa.kowal"), directory.find("ola.tel")
    assert ewa is not None and ewa.service_types == (TELEPHONE, INTERNET) and len(ewa.fees) == 2
    assert ola is not None and ola.service_types == (TELEPHONE,) and ola.fees == ()
    old = tmp_path / "old.csv"
    old.write_text(
        "login,number,code,name,tier,balance,services\njan.k,6006,112233,Jan,residential,0,\n",
        encoding="utf-8",
    )
    assert await directory.import_csv(old) == 1


@pytest.mark.parametrize(
    "header",
    [
        "login,number,code,name,tier,balance,services,colour",
        "login,number,code,name,tier,balance,services,fees,fees",
        "login,number,code,name,tier,balance,fees",
    ],
)
async def test_csv_refuses_other_columns(
    directory: AccountDirectory, tmp_path: Path, header: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(AccountError, match="optionally service_types,fees"):
        await directory.import_csv(path)


async def test_a_bad_fee_in_a_csv_row_names_the_line(
    directory: AccountDirectory, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "login,number,code,name,tier,balance,services,fees\n"
        "ewa.kowal,4004,246810,Ewa,residential,0.00,internet-600,internet:2026-11=abc\n",
        encoding="utf-8",
    )
    with pytest.raises(AccountError, match="line 2: the fee internet:2026-11=abc"):
        await directory.import_csv(path)
    assert directory.all() == []


async def test_a_stored_record_with_a_broken_fee_is_reported(
    directory: AccountDirectory, store: Store
) -> None:
    account = directory.build("ewa.kowal", "4004", "246810")
    record = {**account.to_record(), "fees": {"internet": {"2026-11": "oops"}}}
    await store.put_doc("account", "ewa.kowal", record)
    await store.put_doc("directory", "account", {"changed": "x"})
    with pytest.raises(AccountError, match="cannot be read"):
        await directory.refresh()


async def test_demo_accounts_are_billed_for_the_three_periods_up_to_now(
    directory: AccountDirectory,
) -> None:
    now = datetime(2026, 11, 18, 12, tzinfo=ZoneInfo("Europe/Warsaw")).timestamp()
    await load_demo(directory, demo_entries(), now=now)
    jan = directory.find("jan.kowalski")
    assert jan is not None and jan.service_types == (INTERNET,)
    assert [(f.period, str(f.amount)) for f in jan.fees] == [
        ("2026-09", "59.99"),
        ("2026-10", "59.99"),
        ("2026-11", "59.99"),
    ]
    firma = directory.find("firma.nowak")
    assert firma is not None and firma.fees == ()


def test_demo_fees_cross_a_year() -> None:
    now = datetime(2027, 1, 5, tzinfo=ZoneInfo("Europe/Warsaw")).timestamp()
    fees = demo_fees({"internet": "10.00"}, now=now, zone="Europe/Warsaw")
    assert [f.period for f in fees] == ["2026-11", "2026-12", "2027-01"]


def test_the_record_is_json(directory: AccountDirectory) -> None:
    account = directory.build("ewa.kowal", "4004", "246810", fees="internet:2026-11=60.00")
    assert json.loads(json.dumps(account.to_record()))["fees"] == {"internet": {"2026-11": "60.00"}}
