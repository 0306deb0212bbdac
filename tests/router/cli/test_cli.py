"""The `switchboard` command as users run it: a real process, real config files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.redis_server import free_port
from tests.router.conftest import ENV, ROOT


def switchboard(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "router.cli", *args],
        cwd=cwd,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_agents_add_prints_only_the_token(workdir: Path) -> None:
    done = switchboard("agents", "add", "marta", "--teams", "billing,technical", cwd=workdir)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert len(token) >= 40 and "\n" not in token and " " not in token
    exported = switchboard("agents", "export", cwd=workdir)
    assert exported.returncode == 0, exported.stderr
    (marta,) = json.loads(exported.stdout)["agents"]
    assert marta["name"] == "marta" and marta["teams"] == ["billing", "technical"]
    assert token not in exported.stdout
    # The export is an import elsewhere: the agent keeps working with the same token.
    (workdir / "agents.json").write_text(exported.stdout)
    other = workdir / "other"
    other.mkdir()
    shutil.copy(workdir / "config.yaml", other / "config.yaml")
    done = switchboard("agents", "import", str(workdir / "agents.json"), cwd=other)
    assert done.returncode == 0 and "imported 1 agents" in done.stdout
    again = switchboard("agents", "export", "-o", "out.json", cwd=other)
    assert again.returncode == 0 and json.loads((other / "out.json").read_text()) == json.loads(
        exported.stdout
    )
    assert (other / "out.json").stat().st_mode & 0o077 == 0


def test_agents_add_refuses_unknown_team(workdir: Path) -> None:
    done = switchboard("agents", "add", "marta", "--teams", "sales", cwd=workdir)
    assert done.returncode != 0 and "sales" in done.stderr and done.stdout == ""


def test_accounts_add_and_import(workdir: Path) -> None:
    done = switchboard(
        "accounts",
        "add",
        "ewa.nowa",
        "--number",
        "4004",
        "--code",
        "246810",
        "--name",
        "Ewa",
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    csv = workdir / "accounts.csv"
    csv.write_text(
        "login,number,code,name,tier,balance,services\n"
        "piotr.k,5005,135791,Piotr K,business,10.00,vps-s;domain pk.pl\n"
    )
    done = switchboard("accounts", "import", str(csv), cwd=workdir)
    assert done.returncode == 0 and "imported 1" in done.stdout
    done = switchboard("accounts", "export", cwd=workdir)
    assert done.returncode == 0, done.stderr
    logins = [a["login"] for a in json.loads(done.stdout)["accounts"]]
    assert "ewa.nowa" in logins and "piotr.k" in logins
    assert "246810" not in done.stdout and "135791" not in done.stdout
    raw = (workdir / "var" / "switchboard.db").read_bytes()
    assert b"246810" not in raw and b"135791" not in raw


def test_invalid_config_names_the_key(workdir: Path) -> None:
    text = (workdir / "config.yaml").read_text().replace('mon: "10:00-18:00"', 'mon: "27:61"', 1)
    (workdir / "config.yaml").write_text(text)
    done = switchboard("run", cwd=workdir)
    assert done.returncode == 2
    assert "teams.billing.hours.mon: '27:61' is not a time" in done.stderr


def test_ivr_check_and_graph(workdir: Path) -> None:
    done = switchboard("ivr", "check", cwd=workdir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 errors" in done.stdout
    done = switchboard("ivr", "graph", "--format", "dot", cwd=workdir)
    assert done.returncode == 0 and done.stdout.startswith("digraph")
    done = switchboard("ivr", "graph", "--flow", "text", "-o", "text.svg", cwd=workdir)
    assert done.returncode == 0 and (workdir / "text.svg").read_text().lstrip().startswith("<")


def test_run_serves_and_stops_cleanly_on_sigterm(workdir: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "router.cli",
            "run",
            "--http",
            f"127.0.0.1:{port}",
            "--smtp",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=workdir,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(8)]
        assert f"http://127.0.0.1:{port}/api/queues" in "".join(banner)
        deadline = time.monotonic() + 10
        while True:
            line = proc.stdout.readline()
            banner.append(line)
            if line.startswith("Try: switchboard agent --token "):
                token = line.split()[-1]
                break
            assert time.monotonic() < deadline and line, "".join(banner)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/queues", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            queues = json.load(resp)
        assert [q["team"] for q in queues] == ["billing", "technical", "domains_hosting"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            assert resp.status == 200
        # An agent added by another process while the router runs signs in within seconds.
        added = switchboard("agents", "add", "marta", "--teams", "billing", cwd=workdir)
        assert added.returncode == 0, added.stderr
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/queues",
            headers={"Authorization": f"Bearer {added.stdout.strip()}"},
        )
        deadline = time.monotonic() + 5
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    assert resp.status == 200
                    break
            except urllib.error.HTTPError as exc:
                assert exc.code == 401 and time.monotonic() < deadline
                time.sleep(0.1)
        assert (workdir / "var" / "switchboard.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
