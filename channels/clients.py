"""Who is asking: the client's IP address, read through the proxies the operator trusts.

Behind a reverse proxy every request comes from the proxy. ``ClientAddresses`` believes
X-Forwarded-For only when the peer is one of the configured trusted proxies, and then walks
it from the right (each proxy appends the address it was reached from) past the trusted
ones; the first address not trusted is the client. Entries further left were written by
the client itself and are never believed. With no trusted proxies configured the peer
address is the client, whatever the headers say.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

__all__ = ["ClientAddresses"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_KEY_CHARS = 64


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ClientAddresses:
    """The client address of a request; ``trusted`` are addresses or networks (CIDR)."""

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        self._networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item.strip(), strict=False) for item in trusted
        )

    @property
    def behind_proxy(self) -> bool:
        return bool(self._networks)

    def trusted(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self._networks)

    def of(self, request: web.BaseRequest) -> str:
        """The client's address (the peer's when it is not a trusted proxy)."""
        return self.client(
            request.remote or "unknown", request.headers.getall("X-Forwarded-For", ())
        )

    def client(self, peer: str, forwarded: Iterable[str] = ()) -> str:
        """The client of a request from ``peer`` carrying these X-Forwarded-For values."""
        if not self._networks or not self.trusted(peer):
            return peer
        hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                return hop[:_MAX_KEY_CHARS]  # not an address: still one client's mark
            if not any(ip in network for network in self._networks):
                return str(ip)
        return peer if not hops else str(_ip(hops[0]) or hops[0][:_MAX_KEY_CHARS])
