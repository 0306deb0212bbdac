"""wrk as the load generator: pre-signed unique requests replayed by a Lua script.

wrk is C with one event loop per thread, so on this machine it is not what limits a Python
server (a bare aiohttp handler does some 15,000 requests a second against one wrk thread
using a few percent of a core). Every request of a run is made beforehand, signed, one per
line of a file the script reads at start; a run that needed more requests than the file
holds is refused rather than counted (a repeated webhook is a retry, cheaper than a new one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.procs import cpu_s
from bench.workload import BenchError

__all__ = ["WrkResult", "ensure_wrk", "run_wrk", "write_requests"]

_SCRIPT = r"""
local requests, n = {}, 0
function init(args)
  for line in io.lines(args[1]) do
    local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
end
function request()
  n = n + 1
  return requests[(n - 1) % #requests + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "non2xx": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_s: float  # of the server process, over the run

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s * 1e3 / self.requests


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian when missing (as root), else an error."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError("wrk is missing and could not be installed (apt-get install wrk)")


def write_requests(path: Path, requests: Iterable[tuple[str, str, str]]) -> int:
    """One request per line: path, X-Twilio-Signature, url-encoded body. Returns the count."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for target, signature, body in requests:
            if "\t" in target + signature + body or "\n" in target + signature + body:
                raise BenchError("a request line cannot hold a tab or a newline")
            out.write(f"{target}\t{signature}\t{body}\n")
            count += 1
    return count


def run_wrk(
    base_url: str,
    requests_file: Path,
    available: int,
    *,
    server_pid: int,
    seconds: int,
    connections: int = 50,
) -> WrkResult:
    """Replay the file's requests against ``base_url`` for ``seconds`` with one wrk thread."""
    script = requests_file.with_suffix(".lua")
    script.write_text(_SCRIPT, encoding="utf-8")
    args = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    args += ["-s", str(script), base_url, "--", str(requests_file)]
    cpu0 = cpu_s(server_pid)
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=seconds + 60)
    cpu = cpu_s(server_pid) - cpu0
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    figures = json.loads(line[4:])
    if figures["requests"] > available:
        raise BenchError(
            f"wrk sent {figures['requests']} requests but {available} were made: make more"
        )
    if figures["non2xx"] or figures["socket_errors"] or figures["timeouts"]:
        raise BenchError(f"{base_url}: failed requests in the run: {figures}")
    return WrkResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1e3,
        p99_ms=figures["p99_us"] / 1e3,
        cpu_s=cpu,
    )
