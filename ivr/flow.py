"""The flow book: flows, prompts and keywords read from config.yaml.

``parse_book`` reads the languages, teams, prompts and keywords here and each flow with
``ivr.parse_flow``; the errors it raises are in ``ivr.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.classify import Keywords
from ivr.errors import FlowError
from ivr.nodes import Flow
from ivr.parse_flow import parse_flow
from ivr.reader import Reader, freeze

__all__ = ["Flow", "FlowBook", "FlowError", "Keywords", "parse_book"]


@dataclass(frozen=True, slots=True)
class FlowBook:
    """Everything the engine needs from the config: flows, prompts, keywords, teams."""

    flows: Mapping[str, Flow]
    prompts: Mapping[str, Mapping[str, str]]
    keywords: Keywords
    languages: tuple[str, ...]
    default_language: str
    default_team: str
    teams: tuple[str, ...]
    team_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def parse_book(data: Mapping[str, Any], *, check_refs: bool = True) -> FlowBook:
    """Read the flow book from the whole parsed config.yaml mapping.

    Raises FlowError naming the key path and the bad value. ``check_refs=False`` skips the
    checks that names point at existing nodes, so ``ivr.lint.check_book`` can report all of
    them at once instead of the first.
    """
    r = Reader(check_refs)
    supported, default_language = _languages(r, data)
    raw_teams = r.mapping(data.get("teams", {}), "teams")
    teams = tuple(raw_teams)
    if not teams:
        raise FlowError("teams", "define at least one team")
    default_team = r.text(data.get("default_team", teams[0]), "default_team")
    if default_team not in teams:
        raise FlowError("default_team", f"{default_team!r} is not one of the teams")
    team_names = _team_names(r, raw_teams)
    prompts: dict[str, Mapping[str, str]] = {}
    for key, texts in r.mapping(data.get("prompts", {}), "prompts").items():
        r.ident(key, f"prompts.{key}")
        prompts[key] = _texts(r, texts, f"prompts.{key}")
    flows = {
        name: parse_flow(r, r.ident(name, f"flows.{name}"), raw, f"flows.{name}")
        for name, raw in r.mapping(data.get("flows", {}), "flows").items()
    }
    return FlowBook(
        flows=freeze(flows),
        prompts=freeze(prompts),
        keywords=_keywords(r, data.get("keywords", {}), teams),
        languages=supported,
        default_language=default_language,
        default_team=default_team,
        teams=teams,
        team_names=team_names,
    )


def _languages(r: Reader, data: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """The supported languages and the default one."""
    languages = r.mapping(data.get("languages", {}), "languages")
    supported = r.strings(languages.get("supported", []), "languages.supported")
    if not supported:
        raise FlowError("languages.supported", "name at least one language, e.g. [pl, en]")
    default = r.text(languages.get("default", supported[0]), "languages.default")
    if default not in supported:
        raise FlowError("languages.default", f"{default!r} is not in languages.supported")
    return supported, default


def _texts(r: Reader, raw: Any, path: str) -> Mapping[str, str]:
    """A mapping of language to text, such as a prompt or a team's names."""
    by_lang = r.mapping(raw, path)
    return freeze({k: r.text(v, f"{path}.{k}") for k, v in by_lang.items()})


def _team_names(r: Reader, raw_teams: Mapping[str, Any]) -> Mapping[str, Mapping[str, str]]:
    team_names: dict[str, Mapping[str, str]] = {}
    for team, spec in raw_teams.items():
        names = r.mapping(spec or {}, f"teams.{team}").get("names", {})
        team_names[team] = _texts(r, names or {}, f"teams.{team}.names")
    return freeze(team_names)


def _keywords(r: Reader, raw: Any, teams: tuple[str, ...]) -> Keywords:
    data = r.mapping(raw, "keywords")
    by_team: dict[str, Mapping[str, tuple[str, ...]]] = {}
    complaint: Mapping[str, tuple[str, ...]] = {}
    for key, value in data.items():
        path = f"keywords.{key}"
        by_lang = r.mapping(value, path)
        stems = {lang: r.strings(items, f"{path}.{lang}") for lang, items in by_lang.items()}
        if key == "complaint":
            complaint = freeze(stems)
        elif key in teams:
            by_team[key] = freeze(stems)
        else:
            known = ", ".join((*teams, "complaint"))
            raise FlowError(path, f"{key!r} is neither a team nor complaint; known: {known}")
    return Keywords(teams=freeze(by_team), complaint=complaint)
