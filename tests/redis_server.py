"""A throwaway redis-server on a free loopback port, in a temp dir (or REDIS_URL when set)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(workdir: Path, *, appendonly: bool = True) -> Iterator[str]:
    """Start redis-server and yield its URL; a missing binary is a failure, never a skip."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; `make test` installs it (apt-get)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "yes" if appendonly else "no",
        "--appendfsync", "always",
        "--daemonize", "no",
        "--logfile", str(workdir / "redis.log"),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (workdir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not start on port {port}:\n{log}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cluster_port() -> int:
    # A cluster node also listens on its port + 10000 (the cluster bus): both must be free.
    for _ in range(100):
        port = free_port()
        if port > 55_000:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port pair for a Redis Cluster node")


def _ask(port: int, command: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
        conn.sendall(command)
        return conn.recv(65536)


@contextmanager
def redis_cluster(workdir: Path, *, masters: int = 3) -> Iterator[str]:
    """Start a Redis Cluster of ``masters`` nodes on loopback and yield the URL of one node
    (with ``?cluster=1``); a missing binary is a failure, never a skip."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise RuntimeError(
            "redis-server and redis-cli are needed for the cluster tests; `make test` "
            "installs them (apt-get install redis-server)"
        )
    ports: list[int] = []
    while len(ports) < masters:
        port = _cluster_port()
        if port not in ports:
            ports.append(port)
    procs = []
    try:
        for port in ports:
            node = workdir / str(port)
            node.mkdir(parents=True, exist_ok=True)
            args = [
                server,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", "5000",
                "--dir", str(node),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--logfile", str(node / "redis.log"),
            ]  # fmt: skip
            procs.append(
                subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        deadline = time.monotonic() + 10
        for port, proc in zip(ports, procs, strict=True):
            while True:
                try:
                    if _ask(port, b"PING\r\n").startswith(b"+PONG"):
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node on port {port} did not start")
                time.sleep(0.05)
        nodes = [f"127.0.0.1:{port}" for port in ports]
        created = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if created.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}"
            )
        deadline = time.monotonic() + 30
        while not all(b"cluster_state:ok" in _ask(p, b"CLUSTER INFO\r\n") for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok in 30 s")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{ports[0]}/0?cluster=1"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def env_redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None
