"""The agent directory: tokens shown once, stored only as hashes, authenticated and rotated."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from queues import Store, open_store
from router.identity.agents import Agent, AgentDirectory, AgentError, hash_token
from router.identity.stored import VERSION_KIND
from tests.router.identity.conftest import mode, values

TEAMS = ["billing", "technical", "domains_hosting"]
DEMO = [
    {"name": "ania", "teams": ["billing", "technical", "domains_hosting"]},
    {"name": "tomek", "teams": ["technical"]},
    {"name": "ola", "teams": ["billing", "domains_hosting"]},
]


@pytest.fixture
def agents(store: Store) -> AgentDirectory:
    return AgentDirectory(store, teams=TEAMS)


def write_json(path: Path, records: list[dict[str, Any]]) -> Path:
    document = {"version": 1, "agents": records}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def old_record(name: str, teams: list[str], token: str, **extra: Any) -> dict[str, Any]:
    """An agent as an older Switchboard's agents.json held it: the token as its SHA-256."""
    fields = {"phone": None, "client_identity": None, **extra}
    return {"name": name, "teams": teams, "token_hash": hash_token(token), **fields}


async def test_add_returns_a_new_token_that_authenticates(agents: AgentDirectory) -> None:
    token = await agents.add("ania", ["billing", "technical"], phone="+48500100200")
    assert len(token) >= 43  # 32 random bytes, base64url
    agent = agents.authenticate(token)
    assert agent == Agent("ania", ("billing", "technical"), hash_token(token), "+48500100200")
    assert agents.get("ania") == agent
    assert agents.get(" Ania ") == agent
    assert agents.all() == [agent]


async def test_only_the_tokens_sha256_is_stored(agents: AgentDirectory, store: Store) -> None:
    token = await agents.add("ania", ["billing"])
    docs = await store.all_docs("agent")
    assert token not in json.dumps(docs)
    assert token not in list(values(docs))
    assert docs == {
        "ania": {
            "name": "ania",
            "teams": ["billing"],
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
            "phone": None,
            "client_identity": None,
        }
    }
    assert token not in json.dumps(await store.all_docs(VERSION_KIND))


async def test_write_file_exports_only_token_hashes_with_mode_0600(
    agents: AgentDirectory, tmp_path: Path
) -> None:
    tokens = [await agents.add("ania", ["billing"]), await agents.add("tomek", "technical")]
    path = tmp_path / "export" / "agents.json"
    assert agents.write_file(path) == path
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["agents.json"]  # no temp file left
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document == agents.export()
    assert document["version"] == 1
    assert [a["name"] for a in document["agents"]] == ["ania", "tomek"]
    stored = list(values(document))
    for token in tokens:
        assert token not in text and token not in stored
        assert hash_token(token) in stored
    assert agents.read_file(path) == agents.all()


async def test_each_add_issues_a_different_token(agents: AgentDirectory) -> None:
    assert await agents.add("ania", ["billing"]) != await agents.add("tomek", ["billing"])


@pytest.mark.parametrize("token", ["", "wrong", "x" * 10_000])
async def test_a_wrong_token_does_not_authenticate(agents: AgentDirectory, token: str) -> None:
    await agents.add("ania", ["billing"])
    assert agents.authenticate(token) is None


async def test_the_stored_hash_is_not_a_token(agents: AgentDirectory) -> None:
    token = await agents.add("ania", ["billing"])
    assert agents.authenticate(hash_token(token)) is None


async def test_re_adding_a_name_rotates_its_token(agents: AgentDirectory, store: Store) -> None:
    old = await agents.add("ania", ["billing"])
    new = await agents.add("Ania", ["technical"], client_identity="ania")
    assert new != old
    assert agents.authenticate(old) is None
    agent = agents.authenticate(new)
    assert agent is not None and agent.teams == ("technical",)
    assert agent.client_identity == "ania"
    assert len(agents.all()) == 1
    docs = await store.all_docs("agent")
    assert list(docs) == ["ania"] and docs["ania"]["token_hash"] == hash_token(new)


async def test_a_token_issued_by_another_process_authenticates_after_refresh(
    agents: AgentDirectory, store: Store
) -> None:
    await agents.refresh()
    assert await agents.refresh() is False  # nothing written since
    token = await AgentDirectory(store).add("tomek", "technical")  # another process
    assert agents.authenticate(token) is None  # lookups read the index only, not the store
    assert await agents.refresh() is True
    agent = agents.authenticate(token)
    assert agent is not None and agent.name == "tomek" and agent.teams == ("technical",)
    assert await agents.refresh() is False
    assert agents.authenticate(token) == agent


async def test_a_token_rotated_by_another_process_stops_working_after_refresh(
    agents: AgentDirectory, store: Store
) -> None:
    old = await agents.add("ania", ["billing"])
    await agents.refresh()
    new = await AgentDirectory(store).add("ania", ["billing"])  # another process
    assert await agents.refresh() is True
    assert agents.authenticate(old) is None
    agent = agents.authenticate(new)
    assert agent is not None and agent.name == "ania"


async def test_agents_survive_reopening(agents: AgentDirectory, store: Store) -> None:
    token = await agents.add("ola", "billing, domains_hosting", phone="+48500100200")
    again = AgentDirectory(store)
    await again.refresh()
    agent = again.authenticate(token)
    assert agent is not None and agent.teams == ("billing", "domains_hosting")
    assert agent.phone == "+48500100200" and agent.client_identity is None
    assert again.all() == agents.all()


async def test_load_demo_issues_tokens_for_every_demo_agent(agents: AgentDirectory) -> None:
    first = await agents.load_demo(DEMO)
    assert sorted(first) == ["ania", "ola", "tomek"]
    for name, token in first.items():
        agent = agents.authenticate(token)
        assert agent is not None and agent.name == name
    second = await agents.load_demo(DEMO)
    assert all(agents.authenticate(token) is None for token in first.values())
    assert all(agents.authenticate(token) is not None for token in second.values())


async def test_load_demo_keeps_other_agents(agents: AgentDirectory, store: Store) -> None:
    token = await agents.add("marek", ["billing"])
    await agents.load_demo(DEMO)
    assert agents.authenticate(token) is not None
    assert [a.name for a in agents.all()] == ["ania", "marek", "ola", "tomek"]
    assert sorted(await store.all_docs("agent")) == ["ania", "marek", "ola", "tomek"]


async def test_public_view_and_repr_leave_out_the_token_hash(agents: AgentDirectory) -> None:
    await agents.add("ania", ["billing"])
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
async def test_add_refuses_bad_values(
    agents: AgentDirectory,
    store: Store,
    name: str,
    teams: list[str],
    extra: dict[str, str],
    match: str,
) -> None:
    with pytest.raises(AgentError, match=match):
        await agents.add(name, teams, **extra)
    assert agents.all() == []
    assert await store.all_docs("agent") == {}


async def test_load_demo_names_an_incomplete_entry(agents: AgentDirectory, store: Store) -> None:
    with pytest.raises(AgentError, match="demo agent #2 lacks a name or teams"):
        await agents.load_demo([DEMO[0], {"name": "x"}])
    assert agents.all() == []
    assert await store.all_docs("agent") == {}


# -- JSON import -------------------------------------------------------------------------------
async def test_an_older_switchboards_agents_file_imports_with_working_tokens(
    agents: AgentDirectory, store: Store, tmp_path: Path
) -> None:
    kept = await agents.add("ania", ["billing"])
    path = write_json(
        tmp_path / "agents.json",
        [
            old_record("ania", ["technical"], "ania's old token"),
            old_record("tomek", ["technical"], "tomek's token", client_identity="tomek"),
            old_record("ola", ["billing", "domains_hosting"], "ola's token", phone="+48500100200"),
        ],
    )
    assert await agents.import_file(path) == 2
    tomek = agents.authenticate("tomek's token")
    assert tomek is not None and tomek.name == "tomek" and tomek.client_identity == "tomek"
    ola = agents.authenticate("ola's token")
    assert ola is not None and ola.teams == ("billing", "domains_hosting")
    assert ola.phone == "+48500100200"
    # A name already stored keeps its stored agent and token.
    assert agents.authenticate("ania's old token") is None
    ania = agents.authenticate(kept)
    assert ania is not None and ania.teams == ("billing",)
    assert sorted(await store.all_docs("agent")) == ["ania", "ola", "tomek"]
    other = AgentDirectory(store)  # another process sees the import
    await other.refresh()
    assert other.authenticate("tomek's token") == tomek
    assert await agents.import_file(path) == 0


async def test_an_export_imports_into_another_store(agents: AgentDirectory, tmp_path: Path) -> None:
    printed = await agents.load_demo(DEMO)
    path = agents.write_file(tmp_path / "agents.json")
    assert await agents.import_file(path) == 0  # every name is stored already
    elsewhere = await open_store("memory://")
    try:
        copy = AgentDirectory(elsewhere, teams=TEAMS)
        assert await copy.import_file(path) == 3
        assert copy.all() == agents.all()
        assert all(copy.authenticate(token) is not None for token in printed.values())
    finally:
        await elsewhere.aclose()


GOOD = json.dumps(old_record("tomek", ["technical"], "tomek's token"))


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"\xff\xfe not UTF-8",
        b'{"version": 1}',
        b'{"agents": [' + GOOD.encode() + b', {"name": "ania"}]}',
        b'{"agents": [' + GOOD.encode() + b", 17]}",
    ],
    ids=["not-json", "empty", "not-utf8", "no-agents", "a-field-missing", "not-a-record"],
)
async def test_import_file_of_a_broken_file_names_it_and_imports_nothing(
    agents: AgentDirectory, store: Store, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "agents.json"
    path.write_bytes(content)
    match = rf"agents file {re.escape(repr(str(path)))} cannot be read .*restore it from a backup"
    with pytest.raises(AgentError, match=match):
        await agents.import_file(path)
    assert agents.all() == []
    assert agents.authenticate("tomek's token") is None
    assert await store.all_docs("agent") == {}


async def test_a_broken_stored_agent_is_reported(agents: AgentDirectory, store: Store) -> None:
    await store.put_doc("agent", "ania", {"name": "ania"})
    await store.put_doc(VERSION_KIND, "agent", {"changed": "by hand"})
    with pytest.raises(AgentError, match=r"a stored agent record cannot be read .*'teams'"):
        await agents.refresh()


async def test_a_second_process_starting_the_demo_keeps_the_first_ones_tokens(
    store: Store,
) -> None:
    demo = [{"name": "ania", "teams": ["billing"]}, {"name": "tomek", "teams": ["technical"]}]
    first = AgentDirectory(store)
    printed = await first.load_demo(demo, seed=b"demo secret of this deployment")
    second = AgentDirectory(store)  # another process, same store and demo secret
    assert await second.load_demo(demo, seed=b"demo secret of this deployment") == printed
    await first.refresh()
    assert first.authenticate(printed["ania"]) == second.authenticate(printed["ania"])
    assert first.authenticate(printed["ania"]) is not None
    assert first.authenticate(printed["tomek"]) is not None
    # Another demo secret gives other tokens, and without a seed each start issues new ones.
    other = await AgentDirectory(store).load_demo(demo, seed=b"another secret")
    assert other["ania"] != printed["ania"]
    unseeded = await first.load_demo(demo)
    assert unseeded["ania"] not in (printed["ania"], other["ania"])
    assert first.authenticate(printed["ania"]) is None
    assert first.authenticate(unseeded["ania"]) is not None


async def test_import_counts_a_name_listed_twice_once_and_refuses_bad_records(
    agents: AgentDirectory, tmp_path: Path
) -> None:
    with pytest.raises(AgentError, match="does not exist"):
        await agents.import_file(tmp_path / "typo.json")
    record = {"name": "ania", "teams": ["billing"], "token_hash": "a" * 64}
    path = tmp_path / "agents.json"
    path.write_text(json.dumps({"version": 1, "agents": [record, record]}))
    assert await agents.import_file(path) == 1
    for bad in ({**record, "name": "Bad Name!"}, {**record, "name": "ewa", "teams": ["sales"]}):
        path.write_text(json.dumps({"version": 1, "agents": [bad]}))
        with pytest.raises(AgentError, match=r"agents\.json"):
            await agents.import_file(path)
    assert [a.name for a in agents.all()] == ["ania"]
