"""The outage bench's servers: the routers' config (pushed or polled hold, the REST
stand-in's URL, an outage desk's short wrap-up), the three routers, and where Redis memory
goes by kind of key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml
from redis.asyncio import Redis

from bench import procs
from bench.outage_crowd import ACCOUNT_SID, AUTH_TOKEN, CUSTOMERS, customer
from bench.procs import ROOT, Server

__all__ = ["key_breakdown", "routers"]


def _config(
    path: Path, *, data_dir: Path, public_url: str, api_url: str, agents: int, hold: str = "push"
) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["data_dir"] = str(data_dir)
    data["accounts"]["file"] = str(data_dir / "accounts.json")
    data["agents"]["file"] = str(data_dir / "agents.json")
    teams = ["billing", "technical", "domains_hosting"]
    data["agents"]["demo"] = [{"name": f"agent{n:03d}", "teams": teams} for n in range(agents)]
    data["accounts"]["demo"] += [
        {"login": login, "number": number, "code": code, "name": login, "tier": "residential"}
        for login, number, code in map(customer, range(CUSTOMERS))
    ]
    data["http"]["public_url"] = public_url
    twilio = data["channels"]["twilio"]
    twilio.update(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=api_url, hold=hold)
    data["channels"]["email"]["addresses"] = []  # no SMTP servers: not measured here
    # An outage desk cuts after-call work short (the default is 30 s): agents take more
    # contacts in the window, and the claim -> connected p99 is over ~5x more claims.
    data.setdefault("desk", {})["wrap_up_s"] = 5
    # Every simulated customer comes from 127.0.0.1: lift the per-address flood caps.
    data["channels"]["webchat"].update(max_open_per_ip=1 << 20, new_contacts_per_minute=1 << 20)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def routers(agents: int, workdir: Path, url: str, api_url: str) -> list[Server]:
    """A and B (pushed hold, measured) and C (polling hold, the baseline), on the store at
    ``url``, redirecting calls through the REST stand-in at ``api_url``."""
    os.environ.setdefault("SWITCHBOARD_SECRET", secrets.token_urlsafe(24))
    everyone = []
    for name, hold in (("a", "push"), ("b", "push"), ("c", "poll")):
        port = procs.free_port()
        config = _config(
            workdir / name / "config.yaml",
            data_dir=workdir / "var",
            public_url=f"http://127.0.0.1:{port}",
            api_url=api_url,
            agents=agents,
            hold=hold,
        )
        env = {"SWITCHBOARD_SECRET": os.environ["SWITCHBOARD_SECRET"]}
        everyone.append(procs.demo_router(name, config, url, workdir / "logs", port, env))
    return everyone


async def key_breakdown(redis: Redis, waiting: int) -> str:
    """Redis memory by kind of key (the part after the hash tag), per waiting contact."""
    used_by: dict[str, list[int]] = {}
    async for key in redis.scan_iter(count=1000):
        name = key.decode()
        tail = name.split("}", 1)[1] if "}" in name else name
        kind = [*tail.split(":"), "", ""][1] or name[:12]
        used_by.setdefault(kind, []).append(await redis.memory_usage(key) or 0)
    rows = sorted(used_by.items(), key=lambda kv: -sum(kv[1]))
    return "\n".join(
        f"  {kind:14} {len(used):7} keys {sum(used) / waiting:9.0f} bytes per waiting contact"
        for kind, used in rows
    )
