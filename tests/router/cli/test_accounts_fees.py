"""`switchboard accounts add|import|export` with service types and monthly fees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.router.cli.test_cli import switchboard
from tests.router.conftest import ROOT


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_accounts_add_takes_service_types_and_fees(workdir: Path) -> None:
    done = switchboard(
        "accounts", "add", "ewa.kowal", "--number", "4004", "--code", "246810",
        "--services", "internet-600,voip-home", "--service-types", "internet,universal",
        "--fee", "internet:2026-10=60.00", "--fee", "internet:2026-11=60.00;universal:2026-11=45",
        cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    exported = switchboard("accounts", "export", cwd=workdir)
    (ewa,) = [a for a in json.loads(exported.stdout)["accounts"] if a["login"] == "ewa.kowal"]
    assert ewa["service_types"] == ["universal", "internet"]
    assert ewa["fees"] == {
        "internet": {"2026-10": "60.00", "2026-11": "60.00"},
        "universal": {"2026-11": "45.00"},
    }


def test_accounts_add_refuses_a_bad_fee_and_adds_nothing(workdir: Path) -> None:
    done = switchboard(
        "accounts", "add", "ewa.kowal", "--number", "4004", "--code", "246810",
        "--fee", "internet:2026-11=sześćdziesiąt", cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 1
    assert "the fee internet:2026-11=sześćdziesiąt of login 'ewa.kowal'" in done.stderr
    exported = switchboard("accounts", "export", cwd=workdir)
    assert "ewa.kowal" not in exported.stdout


def test_accounts_import_csv_with_fees_then_export(workdir: Path) -> None:
    csv = workdir / "accounts.csv"
    csv.write_text(
        "login,number,code,name,tier,balance,services,service_types,fees\n"
        "ola.tel,5005,135791,Ola,residential,0.00,phone-basic,,telephone:2026-11=45.00\n",
        encoding="utf-8",
    )
    done = switchboard("accounts", "import", str(csv), cwd=workdir)
    assert done.returncode == 0 and "imported 1" in done.stdout, done.stderr
    exported = json.loads(switchboard("accounts", "export", cwd=workdir).stdout)
    (ola,) = [a for a in exported["accounts"] if a["login"] == "ola.tel"]
    assert ola["service_types"] == ["telephone"]
    assert ola["fees"] == {"telephone": {"2026-11": "45.00"}}
