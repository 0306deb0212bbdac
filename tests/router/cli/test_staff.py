"""`switchboard staff` as users run it: the real parser and command, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router.cli import main
from router.staffing import agents_needed, erlang_a
from tests.router.conftest import ROOT

EXAMPLE = ["--calls", "100", "--interval-s", "1800", "--aht-s", "180"]
TARGET = ["--target", "0.8", "--within-s", "20"]


def staff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["staff", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_agents_needed_and_their_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = staff(capsys, *EXAMPLE, *TARGET)
    assert code == 0
    assert out.splitlines()[0].startswith("Agents needed: 14  (Erlang C; 10.00 erlangs")
    assert "service level      88.84%  answered within 20 s (target 80.00%)" in out
    assert "ASA                 7.84 s" in out
    assert "P(wait)            17.41%" in out
    assert "occupancy          71.43%" in out
    assert "abandonment" not in out and "Scheduled" not in out


def test_json_carries_the_inputs_and_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = staff(
        capsys, "--calls", "250", "--interval-s", "3600", "--aht-s", "330", *TARGET,
        "--max-occupancy", "0.85", "--shrinkage", "0.3", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["model"] == "erlang_c"
    assert (result["agents"], result["scheduled"]) == (28, 40)
    assert result["calls"] == 250 and result["max_occupancy"] == 0.85
    assert result["service_level"] >= 0.8 and result["occupancy"] <= 0.85
    assert result["abandon_rate"] is None and result["service_level_waiting"] is None


def test_patience_adds_abandonment_and_the_service_level_of_those_who_wait(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = staff(capsys, *EXAMPLE, *TARGET, "--patience-s", "60", "--json")
    assert code == 0
    result = json.loads(out)
    expected = agents_needed(100, 1800, 180, 0.8, 20, patience_s=60)
    figures = erlang_a(expected.agents, 100 / 1800, 180, 60, 20)
    assert result["model"] == "erlang_a" and result["agents"] == expected.agents
    assert result["abandon_rate"] == figures.abandon_rate
    assert result["service_level_waiting"] == figures.service_level_waiting
    code, out, _ = staff(capsys, *EXAMPLE, *TARGET, "--patience-s", "60")
    assert code == 0 and "(Erlang A;" in out
    assert f"abandonment      {figures.abandon_rate * 100:7.2f}%  (mean patience 60 s)" in out
    assert "SL of waiting" in out and "of those who wait" in out


def test_target_and_threshold_default_to_the_configs_voice_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config.write_text(text.replace("voice: {threshold_s: 20, target: 0.8}",
                                   "voice: {threshold_s: 30, target: 0.9}"))  # fmt: skip
    code, out, _ = staff(capsys, *EXAMPLE, "-c", str(config), "--json")
    assert code == 0
    result = json.loads(out)
    assert (result["target"], result["within_s"]) == (0.9, 30)
    assert result["agents"] == agents_needed(100, 1800, 180, 0.9, 30).agents
    code, _, err = staff(capsys, *EXAMPLE, "-c", str(tmp_path / "none.yaml"))
    assert code == 2 and "give --target and --within-s" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls", "100", *TARGET], "give --aht-s, or --forecast FILE.csv"),
        ([*EXAMPLE, "--target", "1.5", "--within-s", "20"], "--target 1.5 must be a share"),
        ([*EXAMPLE, *TARGET, "--max-occupancy", "0"], "--max-occupancy 0 must be in (0, 1]"),
        ([*EXAMPLE, *TARGET, "--shrinkage", "1"], "--shrinkage 1 must be in [0, 1)"),
        ([*EXAMPLE, *TARGET, "--patience-s", "-5"], "--patience-s -5 must be a number of"),
        ([*EXAMPLE, *TARGET, "--interval-s", "nan"], "--interval-s nan must be"),
        (["--calls", "-1", "--aht-s", "180", *TARGET], "--calls -1 must be a number of at least"),
        ([*EXAMPLE, *TARGET, "--forecast", "f.csv"], "--calls and --aht-s come from the forecast"),
        (["--calls", "1e9", "--aht-s", "180", *TARGET], "erlangs; this computes up to 50000"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = staff(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith("switchboard staff: ") and message in err


def test_an_option_that_is_not_a_number_is_an_argparse_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["staff", "--calls", "lots", "--aht-s", "180", *TARGET])
    assert exited.value.code == 2
    assert "argument --calls: invalid float value: 'lots'" in capsys.readouterr().err


FORECAST = """interval_start,team,calls,aht_s
09:00,billing,100,180
09:00,technical,250,660
09:30,billing,60,180
09:30,technical,0,660
"""


def test_forecast_staffs_each_interval_and_team(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.csv"
    path.write_text(FORECAST)
    code, out, _ = staff(capsys, "--forecast", str(path), *TARGET, "--shrinkage", "0.3", "--json")
    assert code == 0
    result = json.loads(out)
    got = [
        (i["interval_start"], i["team"], i["agents"], i["scheduled"]) for i in result["intervals"]
    ]
    assert got[0] == ("09:00", "billing", 14, 20)
    assert got[1][2] == agents_needed(250, 1800, 660, 0.8, 20).agents
    assert got[3] == ("09:30", "technical", 0, 0)
    assert "calls" not in result and result["interval_s"] == 1800
    code, out, _ = staff(capsys, "--forecast", str(path), *TARGET, "--patience-s", "90")
    assert code == 0
    header, first = out.splitlines()[:2]
    assert header.split()[:3] == ["interval", "team", "calls"] and "SL waiting" in header
    patient = agents_needed(100, 1800, 180, 0.8, 20, patience_s=90)
    assert first.split()[:6] == ["09:00", "billing", "100", "180", "10.00", str(patient.agents)]
    assert "Peak technical:" in out


def test_a_bad_forecast_exits_2_with_line_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.csv"
    path.write_text(FORECAST + "7:61,billing,1,180\n10:00,billing,x,180\n")
    code, out, err = staff(capsys, "--forecast", str(path), *TARGET)
    assert (code, out) == (2, "")
    assert f"{path} is not a forecast:" in err
    assert "line 6: interval_start '7:61' is neither HH:MM nor an ISO" in err
    assert "line 7: calls 'x' is not a number" in err
    code, _, err = staff(capsys, "--forecast", str(tmp_path / "missing.csv"), *TARGET)
    assert code == 2 and "cannot read --forecast" in err


def test_the_installed_command_runs_without_a_config(tmp_path: Path) -> None:
    python_path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "router.cli", "staff", *EXAMPLE, *TARGET, "--json"],
        cwd=tmp_path,  # no config.yaml here: staff does not need one
        env={**os.environ, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["agents"] == 14
