"""The client address behind trusted proxies (channels.clients)."""

from __future__ import annotations

from channels import ClientAddresses


def request(peer: str, *forwarded: str) -> tuple[str, tuple[str, ...]]:
    """The peer address and the X-Forwarded-For headers of a request."""
    return peer, forwarded


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header() -> None:
    clients = ClientAddresses()
    assert clients.client(*request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_a_peer_not_trusted_is_the_client() -> None:
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.client(*request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    clients = ClientAddresses(["10.0.0.0/8", "::1"])
    # The client wrote "6.6.6.6" itself; 10.1.2.3 is a proxy of ours.
    assert (
        clients.client(*request("10.0.0.2", "6.6.6.6, 198.51.100.7", "10.1.2.3")) == "198.51.100.7"
    )
    assert clients.client(*request("::1", "2001:db8::5")) == "2001:db8::5"
    assert clients.client(*request("10.0.0.2", "[2001:db8::9]:4711")) == "2001:db8::9"
    assert clients.client(*request("10.0.0.2", "198.51.100.7:5000")) == "198.51.100.7"


def test_only_proxies_or_no_header_falls_back_sensibly() -> None:
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.client(*request("10.0.0.2")) == "10.0.0.2"
    assert clients.client(*request("10.0.0.2", "10.9.9.9")) == "10.9.9.9"
    assert clients.client(*request("10.0.0.2", "not-an-address")) == "not-an-address"
