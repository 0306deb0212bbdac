"""One setting for where the router is: `make run PORT=…` (`switchboard run --http :PORT`)
prints it, and `switchboard call` and `switchboard agent` find the router through
SWITCHBOARD_URL, else through the config's http.listen."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.cli.where import router_url
from tests.redis_server import free_port
from tests.router.conftest import ENV, ROOT, repo_config

pytestmark = pytest.mark.slow


def test_url_comes_from_the_option_then_the_environment_then_http_listen(
    tmp_path: Path,
) -> None:
    config = repo_config(tmp_path)
    assert router_url(config, None, {}) == "http://127.0.0.1:8080"
    assert router_url(config, None, {"SWITCHBOARD_URL": "http://h:9090/"}) == "http://h:9090"
    assert router_url(config, "http://x:1", {"SWITCHBOARD_URL": "http://h:9090"}) == "http://x:1"
    assert router_url(config, None, {"SWITCHBOARD_URL": " "}) == "http://127.0.0.1:8080"
    everywhere = repo_config(tmp_path, http={"listen": "0.0.0.0:9090", "public_url": None})
    assert router_url(everywhere, None, {}) == "http://127.0.0.1:9090"
    ipv6 = repo_config(tmp_path, http={"listen": "[::]:9091", "public_url": None})
    assert router_url(ipv6, None, {}) == "http://[::1]:9091"


def test_make_run_passes_the_ports_given(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "-n", "run", "PORT=9090", "SMTP_PORT=2525"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k not in ("PORT", "SMTP_PORT")},
    )
    assert done.returncode == 0, done.stderr
    assert "switchboard run --demo --http :9090 --smtp :2525" in done.stdout


@pytest.fixture
def router(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """`switchboard run --demo --http :PORT --smtp :PORT` (what `make run PORT=…` runs) on
    the shipped config: (port, workdir, the banner)."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    port = free_port()
    ports = ["--http", f":{port}", "--smtp", f":{free_port()}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "run", "--demo", *ports],
        cwd=tmp_path,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + 20
        while not banner or not banner[-1].startswith("Try: "):
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(banner)
            banner.append(line)
        yield port, tmp_path, banner
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def client(*args: str, cwd: Path, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    env.pop("SWITCHBOARD_URL", None)
    if url is not None:
        env["SWITCHBOARD_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "router.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_clients_find_a_router_on_another_port_through_switchboard_url(
    router: tuple[int, Path, list[str]],
) -> None:
    port, workdir, banner = router
    url = f"http://127.0.0.1:{port}"
    text = "".join(banner)
    assert f"  agent console {url}/agent" in text
    assert f"export SWITCHBOARD_URL={url}" in text
    # No relay in the shipped config: said at start, not found out by a missing mail.
    assert "Automatic email replies are on" in text and "no SMTP relay is set" in text

    call = client(
        "call", "--press", "2 1001# 482913# 2", "--max-hold-s", "1", "--speed", "10",
        cwd=workdir, url=url,
    )  # fmt: skip
    assert call.returncode == 3, call.stderr  # queued, no agent came: ended on hold
    assert "You are number 1 in the queue" in call.stdout

    agent = client("agent", "--token", "not-a-token", cwd=workdir, url=url)
    assert (agent.returncode, agent.stderr.strip()) == (
        1,
        "switchboard agent: the token was refused",
    )

    # Without the setting they look where the config says (8080): not there.
    lost = client("agent", "--token", "not-a-token", cwd=workdir, url=None)
    assert lost.returncode == 1 and "cannot reach http://127.0.0.1:8080" in lost.stderr
