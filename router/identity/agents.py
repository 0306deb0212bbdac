"""Agents: who may pull contacts from which teams, and the bearer tokens they sign in with.

    AgentError (ValueError)   a bad name, team, phone, client identity or agents file; the
                              message names it and says what to do

A token is shown once, when it is issued, and stored only as its SHA-256 (a token has 256
random bits, so a plain hash is enough: there is nothing to brute-force). Agents live in the
store; tokens issued by another process (``switchboard agents add`` while the router runs)
are picked up at the next ``refresh`` (every second in the running app).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from queues import Store
from router.errors import AgentError
from router.identity.stored import StoredDirectory

__all__ = ["Agent", "AgentDirectory", "AgentError", "hash_token"]

_NAME = re.compile(r"[a-z0-9._-]{1,64}")
_TEAM = re.compile(r"[a-z0-9_]{1,64}")
_PHONE = re.compile(r"\+?[0-9]{3,20}")
_IDENTITY = re.compile(r"[A-Za-z0-9_.@-]{1,121}")  # Twilio Client identity characters
_MAX_TOKEN_CHARS = 512


def demo_token(seed: bytes, name: str) -> str:
    """The demo agent ``name``'s token, derived from the demo secret ``seed``."""
    digest = hmac.new(seed, f"demo agent {name}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    teams: tuple[str, ...]
    token_hash: str = field(repr=False)
    phone: str | None = None
    client_identity: str | None = None

    def public(self) -> dict[str, Any]:
        """What the API may return: everything but the token's hash."""
        return {
            "name": self.name,
            "teams": list(self.teams),
            "phone": self.phone,
            "client_identity": self.client_identity,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Agent:
        return cls(
            name=str(data["name"]),
            teams=tuple(str(t) for t in data["teams"]),
            token_hash=str(data["token_hash"]),
            phone=data.get("phone"),
            client_identity=data.get("client_identity"),
        )


class AgentDirectory(StoredDirectory[Agent]):
    """Agents in the store; a JSON file is an import (``import_file``) or an export.

    ``teams``, when given, are the configured teams; an agent serving another is refused.
    """

    kind = "agent"
    key = "agents"
    what = "agents file"
    advice = "restore it from a backup, or add the agents again"
    error = AgentError

    def __init__(self, store: Store, *, teams: Iterable[str] = ()) -> None:
        self._teams = frozenset(teams)
        self._by_name: dict[str, Agent] = {}
        self._by_hash: dict[str, Agent] = {}
        super().__init__(store)

    def _parse(self, record: Any) -> Agent:
        return Agent.from_record(record)

    def _dump(self, record: Agent) -> dict[str, Any]:
        return {
            "name": record.name,
            "teams": list(record.teams),
            "token_hash": record.token_hash,
            "phone": record.phone,
            "client_identity": record.client_identity,
        }

    def _id_of(self, record: Agent) -> str:
        return record.name

    def _check(self, record: Agent) -> None:
        built, _ = self._build(record.name, record.teams, record.phone, record.client_identity)
        if built.name != record.name or built.teams != record.teams:
            raise AgentError(f"agent {record.name!r} is not written as this Switchboard would")
        if not re.fullmatch(r"[0-9a-f]{64}", record.token_hash):
            raise AgentError(f"the token hash of agent {record.name!r} is not 64 hex digits")

    def _index(self, records: list[Agent]) -> None:
        self._by_name = {a.name: a for a in records}
        self._by_hash = {a.token_hash: a for a in records}

    def _build(
        self,
        name: str,
        teams: Iterable[str] | str,
        phone: str | None,
        client_identity: str | None,
        seed: bytes | None = None,
    ) -> tuple[Agent, str]:
        name = str(name).strip().lower()
        if not _NAME.fullmatch(name):
            raise AgentError(
                f"agent name {name!r} is not valid; use 1-64 characters of a-z, 0-9, '.', '_', '-'"
            )
        if isinstance(teams, str):
            teams = teams.split(",")
        wanted = tuple(dict.fromkeys(t.strip() for t in teams if t.strip()))
        if not wanted:
            raise AgentError(f"agent {name!r} has no teams; give at least one, e.g. billing")
        for team in wanted:
            if not _TEAM.fullmatch(team) or (self._teams and team not in self._teams):
                known = ", ".join(sorted(self._teams)) or "names of a-z, 0-9, '_'"
                raise AgentError(f"team {team!r} of agent {name!r} is not known; use {known}")
        if phone is not None and not _PHONE.fullmatch(phone):
            raise AgentError(
                f"phone {phone!r} of agent {name!r} is not valid; write it like +48500100200"
            )
        if client_identity is not None and not _IDENTITY.fullmatch(client_identity):
            raise AgentError(
                f"client identity {client_identity!r} of agent {name!r} is not valid; use up "
                "to 121 characters of A-Z, a-z, 0-9, '_', '.', '@', '-'"
            )
        token = demo_token(seed, name) if seed is not None else secrets.token_urlsafe(32)
        agent = Agent(name, wanted, hash_token(token), phone, client_identity)
        return agent, token

    async def add(
        self,
        name: str,
        teams: Iterable[str] | str,
        *,
        phone: str | None = None,
        client_identity: str | None = None,
    ) -> str:
        """Add an agent, or replace one of that name, and return its new token.

        The token is not kept anywhere: show it to the agent now. Re-adding a name rotates
        the token, so the old one stops working.
        """
        agent, token = self._build(name, teams, phone, client_identity)
        await self._write([agent])
        return token

    async def import_file(self, path: str | os.PathLike[str]) -> int:
        """Import a JSON export (``export``, or an agents file of an older Switchboard): the
        agents not stored yet keep their token hashes. Returns how many were added."""
        await self.refresh()
        new = [a for a in self.read_file(path) if a.name not in self._by_name]
        await self._write(new)
        return len(new)

    async def load_demo(
        self, entries: Iterable[Mapping[str, Any]], *, seed: bytes | None = None
    ) -> dict[str, str]:
        """Write the demo agents (config.yaml ``agents.demo``) in one write; returns name ->
        token for ``switchboard run`` to print.

        With ``seed`` (the demo's secret) each token is derived from it, so every process
        with the same seed issues the same tokens and a second start invalidates none;
        without it each start issues new random tokens.
        """
        built: list[tuple[Agent, str]] = []
        for n, entry in enumerate(entries, 1):
            if "name" not in entry or "teams" not in entry:
                raise AgentError(
                    f"demo agent #{n} lacks a name or teams; add them in config.yaml agents.demo"
                )
            built.append(
                self._build(
                    entry["name"],
                    entry["teams"],
                    entry.get("phone"),
                    entry.get("client_identity"),
                    seed,
                )
            )
        await self._write(agent for agent, _ in built)
        return {agent.name: token for agent, token in built}

    def authenticate(self, token: str) -> Agent | None:
        """The agent this bearer token belongs to, or None."""
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        digest = hash_token(token)
        agent = self._by_hash.get(digest)
        # The dict lookup is by a hash of the token, so its timing says nothing about the
        # token; compare_digest still makes the final check constant-time.
        if agent is None or not hmac.compare_digest(agent.token_hash, digest):
            return None
        return agent

    def get(self, name: str) -> Agent | None:
        return self._by_name.get(name.strip().lower())

    def all(self) -> list[Agent]:
        return [self._by_name[name] for name in sorted(self._by_name)]
