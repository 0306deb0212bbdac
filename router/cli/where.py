"""Where the router is, for the clients (``switchboard call``, ``switchboard agent``, curl):
one setting, ``SWITCHBOARD_URL``, whose default is the config's ``http.listen``."""

from __future__ import annotations

from collections.abc import Mapping

from router.config import Config, HostPort

__all__ = ["URL_ENV", "listen_url", "router_url"]

URL_ENV = "SWITCHBOARD_URL"
#: A server listening on every address is reached on the loopback one.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def listen_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server listening on ``host:port`` at."""
    return f"http://{HostPort(_LOOPBACK.get(host, host), port)}"


def router_url(config: Config, given: str | None, env: Mapping[str, str]) -> str:
    """``--url`` when given, else ``SWITCHBOARD_URL``, else ``http.listen`` of the config."""
    url = given or env.get(URL_ENV) or ""
    if url.strip():
        return url.strip().rstrip("/")
    listen = config.http.listen
    return listen_url(listen.host, listen.port)
