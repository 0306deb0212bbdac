"""Processes the bench starts and owns: redis-servers, `switchboard run` and the baselines'
servers, each on a free loopback port; and their CPU time from /proc.

The bench never imports from tests/: this is its own copy of what it needs to start them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.workload import BenchError

__all__ = [
    "ROOT",
    "Server",
    "cpu_s",
    "demo_router",
    "demo_tokens",
    "free_port",
    "http_ready",
    "redis_server",
    "router",
    "running",
    "smtp_ready",
]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(workdir: Path, *, appendonly: bool = False) -> Iterator[str]:
    """A redis-server of the bench's own on a free port, data in ``workdir``; yields its
    URL. A missing binary is a failure (``make bench`` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("redis-server is not installed; `make bench` installs it (apt-get)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    args += ["--save", "", "--appendonly", "yes" if appendonly else "no"]
    args += ["--appendfsync", "always", "--daemonize", "no"]
    args += ["--logfile", str(workdir / "redis.log")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _pong(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (workdir / "redis.log").read_text(errors="replace")[-2000:]
                raise BenchError(f"redis-server did not start on port {port}:\n{log}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


def http_ready(url: str) -> bool:
    """True once ``GET url/readyz`` answers 200."""
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def smtp_ready(port: int) -> bool:
    """True once an SMTP server on ``port`` greets with 220."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            return conn.recv(512).startswith(b"220")
    except OSError:
        return False


@dataclass
class Server:
    """A server process of the bench: ``args`` run in a process of its own (so the load
    generator's CPU is not its CPU), output to ``logs/<name>.out``; ready once ``ready()``
    says so (default: ``GET /readyz`` on ``port`` answers 200)."""

    name: str
    args: list[str]
    port: int
    logs: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError(f"{self.name} is not running")
        return self.proc.pid

    def output(self) -> str:
        """What the process printed so far."""
        path = self.logs / f"{self.name}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, cwd: Path) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        # Provider credentials of the shell would turn on channels the bench does not drive.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
        with (self.logs / f"{self.name}.out").open("wb") as out:
            self.proc = subprocess.Popen(
                self.args, cwd=cwd, env={**env, **self.env}, stdout=out, stderr=subprocess.STDOUT
            )
        ready = self.ready or (lambda: http_ready(self.url))
        deadline = time.monotonic() + 60
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@contextlib.contextmanager
def running(server: Server, cwd: Path) -> Iterator[Server]:
    """``server`` started for the block, stopped after it."""
    try:
        server.start(cwd)
        yield server
    finally:
        server.stop()


def _router_config(workdir: Path, port: int, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["data_dir"] = str(workdir / "data")
    data["accounts"]["file"] = str(workdir / "data" / "accounts.json")
    data["agents"]["file"] = str(workdir / "data" / "agents.json")
    data["http"]["public_url"] = f"http://127.0.0.1:{port}"
    edit(data)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def router(
    workdir: Path,
    store_url: str,
    env: Mapping[str, str],
    *,
    edit: Callable[[dict[str, Any]], None] = lambda data: None,
    smtp_port: int | None = None,
) -> Server:
    """`switchboard run` (``python -m router.cli run``) on ``store_url`` with the project's
    config.yaml, its files under ``workdir`` and ``edit(data)`` applied to it; HTTP and SMTP
    on free loopback ports (SMTP on ``smtp_port`` when given)."""
    port = free_port()
    config = _router_config(workdir, port, edit)
    args = [sys.executable, "-m", "router.cli", "run", "-c", str(config), "--store", store_url]
    args += ["--http", f"127.0.0.1:{port}", "--smtp", f"127.0.0.1:{smtp_port or free_port()}"]
    return Server("router", args, port, workdir / "logs", env=env)


_TOKEN_LINE = re.compile(r"^\s+(\S+)\s+teams=\S*\s+token=(\S+)\s*$", re.MULTILINE)


def demo_router(
    name: str, config: Path, store_url: str, logs: Path, port: int, env: Mapping[str, str]
) -> Server:
    """`switchboard run --demo -c config` on ``port``: ready once it answers /readyz and has
    printed the demo agents' tokens (``demo_tokens`` reads them)."""
    args = [sys.executable, "-m", "router.cli", "run", "-c", str(config), "--store", store_url]
    args += ["--http", f"127.0.0.1:{port}", "--smtp", f"127.0.0.1:{free_port()}", "--demo"]
    server = Server(name, args, port, logs, env={**env, "PYTHONUNBUFFERED": "1"})
    server.ready = lambda: "Try: switchboard agent" in server.output() and http_ready(server.url)
    return server


def demo_tokens(server: Server) -> dict[str, str]:
    """The demo agents' bearer tokens a ``demo_router`` printed, by agent name."""
    return dict(_TOKEN_LINE.findall(server.output()))
