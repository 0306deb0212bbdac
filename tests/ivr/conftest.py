from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr import Engine, Facts, FlowBook, Step, VerifyResult, parse_book

ROOT = Path(__file__).resolve().parents[2]
CODE = "482913"  # jan.kowalski's demo auth code
ALL_OPEN = Facts(open_teams=frozenset({"billing", "technical", "domains_hosting"}))


def load_config() -> dict[str, Any]:
    with (ROOT / "config.yaml").open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


@pytest.fixture(scope="session")
def config() -> dict[str, Any]:
    return load_config()


@pytest.fixture(scope="session")
def book(config: dict[str, Any]) -> FlowBook:
    return parse_book(config)


@pytest.fixture(scope="session")
def engine(book: FlowBook) -> Engine:
    return Engine(book)


@dataclass
class Talk:
    """A conversation driven step by step, keeping the latest step."""

    engine: Engine
    step: Step
    facts: Facts = ALL_OPEN
    steps: list[Step] = field(default_factory=list)

    def answer(self, answer: str | None) -> Talk:
        self.step = self.engine.advance(self.step.state, answer, facts=self.facts)
        self.steps.append(self.step)
        return self

    def result(self, **result: Any) -> Talk:
        self.step = self.engine.resume(self.step.state, VerifyResult(**result), facts=self.facts)
        self.steps.append(self.step)
        return self

    @property
    def keys(self) -> list[str]:
        return [prompt.key for prompt in self.step.prompts]

    @property
    def node(self) -> str:
        return self.step.state.node

    @property
    def vars(self) -> dict[str, str]:
        return dict(self.step.state.vars)

    def texts(self) -> list[str]:
        return [self.engine.render(p, self.step.state.language) for p in self.step.prompts]


Start = Callable[..., Talk]


@pytest.fixture
def talk(engine: Engine) -> Start:
    """Start a flow: ``talk("voice")``, ``talk("text", facts, text="...")``."""

    def start(flow: str, facts: Facts = ALL_OPEN, **kwargs: Any) -> Talk:
        step = engine.start(flow, facts=facts, **kwargs)
        return Talk(engine, step, facts, [step])

    return start
