"""The agent directory: tokens shown once, stored only as hashes, authenticated and rotated."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from router.identity.agents import Agent, AgentDirectory, AgentError, hash_token

TEAMS = ["billing", "technical", "domains_hosting"]
DEMO = [
    {"name": "ania", "teams": ["billing", "technical", "domains_hosting"]},
    {"name": "tomek", "teams": ["technical"]},
    {"name": "ola", "teams": ["billing", "domains_hosting"]},
]


@pytest.fixture
def agents(tmp_path: Path) -> AgentDirectory:
    return AgentDirectory(tmp_path / "var" / "agents.json", teams=TEAMS)


def test_add_returns_a_new_token_that_authenticates(agents: AgentDirectory) -> None:
    token = agents.add("ania", ["billing", "technical"], phone="+48500100200")
    assert len(token) >= 43  # 32 random bytes, base64url
    agent = agents.authenticate(token)
    assert agent == Agent("ania", ("billing", "technical"), hash_token(token), "+48500100200")
    assert agents.get("ania") == agent
    assert agents.all() == [agent]


def test_only_the_tokens_sha256_is_stored(agents: AgentDirectory) -> None:
    token = agents.add("ania", ["billing"])
    text = agents.path.read_text(encoding="utf-8")
    assert token not in text
    [record] = json.loads(text)["agents"]
    assert record["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert stat.S_IMODE(agents.path.stat().st_mode) == 0o600


def test_each_add_issues_a_different_token(agents: AgentDirectory) -> None:
    assert agents.add("ania", ["billing"]) != agents.add("tomek", ["billing"])


@pytest.mark.parametrize("token", ["", "wrong", "x" * 10_000])
def test_a_wrong_token_does_not_authenticate(agents: AgentDirectory, token: str) -> None:
    agents.add("ania", ["billing"])
    assert agents.authenticate(token) is None


def test_the_stored_hash_is_not_a_token(agents: AgentDirectory) -> None:
    token = agents.add("ania", ["billing"])
    assert agents.authenticate(hash_token(token)) is None


def test_re_adding_a_name_rotates_its_token(agents: AgentDirectory) -> None:
    old = agents.add("ania", ["billing"])
    new = agents.add("Ania", ["technical"], client_identity="ania")
    assert new != old
    assert agents.authenticate(old) is None
    agent = agents.authenticate(new)
    assert agent is not None and agent.teams == ("technical",)
    assert agent.client_identity == "ania"
    assert len(agents.all()) == 1


def test_a_token_issued_by_another_process_authenticates(agents: AgentDirectory) -> None:
    token = AgentDirectory(agents.path).add("tomek", "technical")
    agent = agents.authenticate(token)
    assert agent is not None and agent.name == "tomek"


def test_agents_survive_reopening(agents: AgentDirectory) -> None:
    token = agents.add("ola", "billing, domains_hosting")
    again = AgentDirectory(agents.path)
    agent = again.authenticate(token)
    assert agent is not None and agent.teams == ("billing", "domains_hosting")


def test_load_demo_issues_tokens_for_every_demo_agent(agents: AgentDirectory) -> None:
    first = agents.load_demo(DEMO)
    assert sorted(first) == ["ania", "ola", "tomek"]
    for name, token in first.items():
        agent = agents.authenticate(token)
        assert agent is not None and agent.name == name
    second = agents.load_demo(DEMO)
    assert all(agents.authenticate(token) is None for token in first.values())
    assert all(agents.authenticate(token) is not None for token in second.values())


def test_load_demo_keeps_other_agents(agents: AgentDirectory) -> None:
    token = agents.add("marek", ["billing"])
    agents.load_demo(DEMO)
    assert agents.authenticate(token) is not None
    assert [a.name for a in agents.all()] == ["ania", "marek", "ola", "tomek"]


def test_public_view_and_repr_leave_out_the_token_hash(agents: AgentDirectory) -> None:
    agents.add("ania", ["billing"])
    agent = agents.get("ania")
    assert agent is not None
    assert agent.public() == {
        "name": "ania",
        "teams": ["billing"],
        "phone": None,
        "client_identity": None,
    }
    assert agent.token_hash not in repr(agent)


@pytest.mark.parametrize(
    ("name", "teams", "extra", "match"),
    [
        ("an ia", ["billing"], {}, "agent name 'an ia' is not valid"),
        ("", ["billing"], {}, "agent name '' is not valid"),
        ("ania", [], {}, "agent 'ania' has no teams"),
        ("ania", "", {}, "agent 'ania' has no teams"),
        ("ania", ["sales"], {}, "team 'sales' of agent 'ania' is not known; use billing, "),
        ("ania", ["billing"], {"phone": "call me"}, "phone 'call me' of agent 'ania'"),
        ("ania", ["billing"], {"client_identity": "a b"}, "client identity 'a b'"),
    ],
)
def test_add_refuses_bad_values(
    agents: AgentDirectory, name: str, teams: list[str], extra: dict[str, str], match: str
) -> None:
    with pytest.raises(AgentError, match=match):
        agents.add(name, teams, **extra)
    assert agents.all() == []


def test_load_demo_names_an_incomplete_entry(agents: AgentDirectory) -> None:
    with pytest.raises(AgentError, match="demo agent #2 lacks a name or teams"):
        agents.load_demo([DEMO[0], {"name": "x"}])
    assert agents.all() == []


def test_a_corrupt_agents_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "agents.json"
    path.write_text('{"agents": [{"name": "ania"}]}')
    with pytest.raises(AgentError, match=r"agents file .*agents\.json' cannot be read"):
        AgentDirectory(path)


def test_a_second_process_starting_the_demo_keeps_the_first_ones_tokens(
    tmp_path: Path,
) -> None:
    demo = [{"name": "ania", "teams": ["billing"]}, {"name": "tomek", "teams": ["technical"]}]
    first = AgentDirectory(tmp_path / "agents.json")
    printed = first.load_demo(demo, seed=b"demo secret of this data dir")
    second = AgentDirectory(tmp_path / "agents.json")  # another process, same data dir
    assert second.load_demo(demo, seed=b"demo secret of this data dir") == printed
    assert first.authenticate(printed["ania"]) == second.authenticate(printed["ania"])
    assert first.authenticate(printed["ania"]) is not None
    # Another data dir (another demo secret) gets other tokens; without a seed, new ones.
    other = AgentDirectory(tmp_path / "other.json").load_demo(demo, seed=b"another secret")
    assert other["ania"] != printed["ania"]
    assert first.load_demo(demo)["ania"] != printed["ania"]
