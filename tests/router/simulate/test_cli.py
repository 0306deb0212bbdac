"""``switchboard simulate`` as users run it: the shipped config, the options, the outputs."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from router.cli import main
from router.cli.parser import build_parser
from router.cli.simulate import simulate
from router.config import Config, load_config
from tests.router.cli.test_cli import switchboard
from tests.router.conftest import ENV, ROOT

STEADY = ["--calls-per-hour", "120", "--aht-s", "180", "--agents", "8", "--hours", "2"]
FIELDS = {"contacts", "service_level", "asa_s", "abandon_rate", "occupancy", "longest_wait_s"}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_a_steady_load_as_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = switchboard("simulate", *STEADY, "--seed", "3", "--json", cwd=workdir)

    assert done.returncode == 0, done.stderr
    assert "contacts simulated in" in done.stderr
    assert main(["simulate", "-c", str(workdir / "config.yaml"), *STEADY, "--seed", "3",
                 "--json"]) == 0  # fmt: skip
    assert capsys.readouterr().out == done.stdout  # the same seed, the same day
    report = json.loads(done.stdout)
    assert set(report["day"]) >= FIELDS and len(report["intervals"]) == 4
    assert set(report["intervals"][0]) >= FIELDS and set(report["day"]["teams"]) == {"technical"}
    assert report["start"].endswith("09:00:00.000000Z")  # 10:00 in Warsaw: the opening
    assert report["sla"]["voice"] == {"threshold_s": 20.0, "target": 0.8}
    assert 200 < report["day"]["contacts"] < 290  # 240 expected


def test_the_outage_day_prints_a_table_and_draws_the_svg(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    svg = workdir / "day.svg"
    config = str(workdir / "config.yaml")

    code = main(["simulate", "-c", config, "--outage", "--date", "2025-03-04", "--svg", str(svg)])

    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Simulated outage day (+240 contacts/h on technical 11:00-13:00): "
                          "Tue 2025-03-04 08:00–20:00 Europe/Warsaw, seed 1")  # fmt: skip
    lines = out.splitlines()
    assert lines[3].split() == ["time", "contacts", "answered", "abandoned", "SL", "ASA",
                                "s", "abandon", "occupancy", "longest", "s", "waiting",
                                "agents"]  # fmt: skip
    assert [line.split()[0] for line in lines[5:29]][:3] == ["08:00", "08:30", "09:00"]
    assert any(line.startswith("day ") for line in lines)
    assert any(line.startswith("technical ") for line in lines)
    root = ET.fromstring(svg.read_text(encoding="utf-8"))
    ns = "{http://www.w3.org/2000/svg}"
    panels = root.findall(f"{ns}svg")
    assert [p.findtext(f"{ns}title") for p in panels] == [
        "Contacts waiting at the end of each interval",
        "Service level (answered within the SLA threshold)",
        "Agents per interval (on average)",
    ]
    assert root.findtext(f"{ns}title", "").startswith("Simulated outage day")


def test_a_forecast_csv_gives_the_arrivals(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forecast = workdir / "forecast.csv"
    forecast.write_text(
        "interval_start,team,calls,aht_s\n10:00,billing,50,200\n10:30,billing,50,200\n",
        encoding="utf-8",
    )
    config = str(workdir / "config.yaml")

    code = main(["simulate", "-c", config, "--profile", str(forecast), "--json", "--hours", "4"])

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    counts = [(r["label"], r["teams"]["billing"]["contacts"]) for r in report["intervals"]]
    assert [label for label, n in counts if n] == ["10:00", "10:30"]
    assert report["day"]["teams"]["technical"]["contacts"] == 0


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(ROOT / "config.yaml", env=ENV)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--calls-per-hour", "100", "--aht-s", "180"], "--calls-per-hour needs --agents"),
        ([*STEADY, "--outage"], "drop --calls-per-hour"),
        ([*STEADY, "--team", "sales"], "team 'sales' does not exist"),
        (["--agents", "5"], "--agents, --aht-s and --team go with --calls-per-hour"),
        (["--profile", "/nonexistent/forecast.csv"], "cannot read /nonexistent/forecast.csv"),
        ([*STEADY[:-2], "--hours", "-1"], "--hours -1 must be more than 0"),
        (["--interval-s", "100"], "--interval-s 100 must be whole minutes"),
    ],
)
def test_options_that_make_no_day_exit_2_saying_why(
    shipped: Config, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    options = build_parser().parse_args(["simulate", *args])
    assert simulate(shipped, options) == 2
    assert says in capsys.readouterr().err


def test_a_bad_forecast_names_its_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "bad.csv").write_text("interval_start,team,calls,aht_s\n10:00,billing,x,200\n")
    monkeypatch.chdir(workdir)
    assert main(["simulate", "--profile", "bad.csv"]) == 2
    assert "line 2: calls 'x' is not a number" in capsys.readouterr().err


def test_without_a_simulate_section_the_day_needs_a_steady_load(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (workdir / "config.yaml").read_text(encoding="utf-8")
    start = text.index("simulate:")
    end = text.index("# --- flows")
    (workdir / "config.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    monkeypatch.chdir(workdir)

    assert main(["simulate"]) == 2
    assert "the config has no simulate: section" in capsys.readouterr().err
    assert main(["simulate", *STEADY, "--json"]) == 0
