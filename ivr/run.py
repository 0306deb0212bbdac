"""One step of a flow in progress: the node-by-node interpreter behind ivr.engine.Engine."""

from __future__ import annotations

import re
from types import MappingProxyType

from ivr.classify import classify, count_stems, find_labelled, words
from ivr.errors import StateError
from ivr.flow import Flow, FlowBook
from ivr.nodes import (
    AnnounceNode,
    BranchNode,
    Choice,
    ClassifyNode,
    CollectNode,
    Edge,
    EndNode,
    HoursNode,
    MenuNode,
    Node,
    QueueNode,
    VerifyNode,
)
from ivr.state import (
    TERMINAL,
    Effect,
    End,
    Enqueue,
    Expect,
    Facts,
    FlowState,
    Prompt,
    Step,
    Verify,
    VerifyResult,
)

__all__ = ["Run"]

# Nodes passed through in one step before the engine calls it a loop (lint finds them too).
_MAX_HOPS = 200
_SEPARATORS = re.compile(r"[\s,;]+")


class Run:
    """One step in progress: a mutable copy of the state that collects prompts."""

    def __init__(
        self,
        book: FlowBook,
        flow: Flow,
        state: FlowState,
        facts: Facts,
        raw_text: str | None = None,
    ) -> None:
        self.book, self.flow, self.facts = book, flow, facts
        self.at = state.node
        self.language = state.language
        self.vars = dict(state.vars)
        self.tries = state.tries
        self.failures = state.failures
        self.prompts: list[Prompt] = []
        # The unmasked first message and a freshly collected code live only for this step.
        self.raw_text = raw_text
        self.code: str | None = None

    # --- bookkeeping -----------------------------------------------------------------

    def node(self) -> Node:
        node = self.flow.nodes.get(self.at)
        if node is None:
            raise StateError(
                f"flow {self.flow.name!r} has no node {self.at!r} (the config changed?); "
                "start the flow again"
            )
        return node

    def state(self) -> FlowState:
        return FlowState(
            flow=self.flow.name,
            node=self.at,
            language=self.language,
            vars=MappingProxyType(dict(self.vars)),
            tries=self.tries,
            failures=self.failures,
        )

    def team(self) -> str:
        return self.vars.get("team") or self.book.default_team

    def say(self, key: str, *, each_language: bool = False, **params: str) -> None:
        full = {"team": self.team(), **params}
        languages = self.book.languages if each_language else (self.language,)
        self.prompts += [Prompt(key, MappingProxyType(full), lang) for lang in languages]

    def follow(self, edge: Edge) -> None:
        for name, value in edge.assign.items():
            self.vars[name] = value
            if name == "language" and value in self.book.languages:
                self.language = value
        for key in edge.say:
            self.say(key)
        self.at = edge.next
        self.tries = 0

    def step(self, expect: Expect, effect: Effect | None = None) -> Step:
        return Step(state=self.state(), prompts=tuple(self.prompts), expect=expect, effect=effect)

    # --- running ---------------------------------------------------------------------

    def proceed(self) -> Step:
        """Pass through nodes that decide at once until one waits or has an effect."""
        for _ in range(_MAX_HOPS):
            node = self.node()
            if self.code is not None and not isinstance(node, VerifyNode):
                self.code = None  # a code is for the verify right after its collect only
            done = self.enter(node)
            if done is not None:
                return done
        raise StateError(
            f"flow {self.flow.name!r} went through {_MAX_HOPS} nodes without waiting "
            f"(a loop at {self.at!r}?); run `switchboard ivr check`"
        )

    def enter(self, node: Node) -> Step | None:
        if isinstance(node, MenuNode | CollectNode):
            if self.flow.input == "none":
                self.take_unasked(node)
                return None
            return self.ask(node)
        if isinstance(node, VerifyNode):
            if self.code is None:
                raise StateError(
                    f"verify node {self.at!r} of flow {self.flow.name!r} was reached without "
                    "a code: a secret collect must lead straight to it"
                )
            code, self.code = self.code, None
            identifier = self.vars.get(node.identifier, "")
            return self.step(Expect("none"), Verify(identifier=identifier, code=code))
        if isinstance(node, QueueNode):
            for key in node.say:
                self.say(key)
            team = node.team or self.team()
            self.vars["team"] = team
            self.at = TERMINAL
            complaint = self.vars.get("complaint") == "1"
            return self.step(Expect("none"), Enqueue(team, complaint=complaint, prompt=node.prompt))
        if isinstance(node, EndNode):
            if node.prompt is not None:
                self.say(node.prompt)
            self.at = TERMINAL
            return self.step(Expect("none"), End(node.reason))
        self.follow(self.decide(node))
        return None

    def decide(self, node: AnnounceNode | ClassifyNode | HoursNode | BranchNode) -> Edge:
        if isinstance(node, AnnounceNode):
            self.announce(node)
            return node.next
        if isinstance(node, ClassifyNode):
            team = self.pick_team(self.vars.get(node.source, ""))
            if team is None:
                return node.undecided
            self.vars["team"] = team
            return node.decided
        if isinstance(node, HoursNode):
            return node.open if self.team() in self.facts.open_teams else node.closed
        return node.yes if self.condition(node.condition) else node.no

    def announce(self, node: AnnounceNode) -> None:
        if node.what == "prompt":
            self.say(node.prompt)
        elif node.what == "hours":
            hours = self.facts.hours.get(self.team())
            if hours:
                self.say(node.prompt, hours=hours)
        else:
            incidents = self.facts.incidents
            if "team" in self.vars:
                keys = [key for key in (self.vars["team"], "*") if key in incidents]
            else:
                keys = sorted(incidents)
            # The same text opened on several teams is said once.
            for text in dict.fromkeys(incidents[key] for key in keys):
                self.say(node.prompt, incident=text)

    def pick_team(self, text: str) -> str | None:
        """The team the text names, if one; a complaint sets the complaint var."""
        found = classify(text, self.book.keywords)
        if found.complaint:
            self.vars["complaint"] = "1"
        return found.team

    def condition(self, name: str) -> bool:
        negative = self.vars.get("balance_negative") == "1"
        tests = {
            "verified": self.vars.get("verified") == "1",
            "complaint": self.vars.get("complaint") == "1",
            "negative_balance": negative,
            "negative_balance_and_technical": negative and self.team() == "technical",
            "business": self.vars.get("tier") == "business",
        }
        if name not in tests:
            raise StateError(f"branch condition {name!r} is unknown to the engine")
        return tests[name]

    def ask(self, node: MenuNode | CollectNode) -> Step:
        each = isinstance(node, MenuNode) and node.each_language
        if node.prompt is not None:
            self.say(node.prompt, each_language=each)
        if isinstance(node, CollectNode):
            rest = self.flow.nodes.get(node.rest_to or "")
            # "jan.kowalski 482913" answers a login question too: that answer is secret.
            secret = node.secret or (isinstance(rest, CollectNode) and rest.secret)
            if self.flow.input == "text":
                return self.step(Expect("text", timeout_s=node.timeout_s, secret=secret))
            return self.step(
                Expect("digits", node.num_digits, node.finish_on_key, node.timeout_s, secret)
            )
        if self.flow.input == "text":
            return self.step(Expect("text", timeout_s=node.timeout_s))
        lengths = {len(choice.key) for choice in node.choices}
        if len(lengths) == 1:
            return self.step(Expect("digits", lengths.pop(), None, node.timeout_s))
        return self.step(Expect("digits", None, "#", node.timeout_s))

    def retry(self, node: MenuNode | CollectNode, *, no_input: bool) -> Step:
        self.tries += 1
        if self.tries >= node.tries:
            self.follow(node.fallback)
        else:
            each = isinstance(node, MenuNode) and node.each_language
            self.say(node.no_input if no_input else node.invalid, each_language=each)
        return self.proceed()

    # --- answers ---------------------------------------------------------------------

    def choose(self, node: MenuNode, answer: str | None) -> Step:
        text = (answer or "").strip().rstrip("#")
        if not text:
            return self.retry(node, no_input=True)
        choice = self.match(node, text)
        if choice is None:
            return self.retry(node, no_input=False)
        self.follow(choice.edge)
        return self.proceed()

    def match(self, node: MenuNode, text: str) -> Choice | None:
        by_key = {choice.key: choice for choice in node.choices}
        if text in by_key:
            return by_key[text]
        if self.flow.input != "text":
            return None
        tokens = words(text)
        # "2", "2.", "2 please": a text answer that starts with a key picks it.
        if tokens and tokens[0] in by_key:
            return by_key[tokens[0]]
        named = [choice for choice in node.choices if count_stems(tokens, choice.words)]
        if len(named) == 1:
            return named[0]
        if node.classify:
            team = self.pick_team(text)
            teams = [c for c in node.choices if team and c.edge.assign.get("team") == team]
            if len(teams) == 1:
                return teams[0]
        return None

    def collect(self, node: CollectNode, answer: str | None) -> Step:
        raw = (answer or "").strip()
        if self.flow.input == "digits":
            raw = re.sub(r"\s+", "", raw).rstrip("#*")
        if not raw:
            return self.retry(node, no_input=True)
        rest = None
        if node.rest_to is not None and self.flow.input == "text":
            parts = [part for part in _SEPARATORS.split(raw) if part]
            if len(parts) >= 2:
                raw, rest = parts[0], parts[-1]
        elif node.secret and self.flow.input == "text":
            raw = self.both_again(node, raw)
        value = self.accept(node, raw)
        if value is None:
            return self.retry(node, no_input=False)
        self.keep(node, value)
        if rest is not None and node.rest_to is not None:
            target = self.flow.nodes.get(node.rest_to)
            if isinstance(target, CollectNode):
                # "jan.kowalski 482913": the rest answers the next question (the code) now.
                self.at, self.tries = node.rest_to, 0
                return self.collect(target, rest)
        self.follow(node.next)
        return self.proceed()

    def both_again(self, node: CollectNode, raw: str) -> str:
        """ "jan.kowalski 482913" typed where only the code was asked (the login before it
        was something else, say the problem in words): both are taken from this answer."""
        parts = [part for part in _SEPARATORS.split(raw) if part]
        asking = next(
            (
                n
                for n in self.flow.nodes.values()
                if isinstance(n, CollectNode) and n.rest_to == self.at
            ),
            None,
        )
        if asking is None or len(parts) < 2:
            return raw
        login = self.accept(asking, parts[0])
        if login is None or self.accept(node, parts[-1]) is None:
            return raw
        self.keep(asking, login)
        return parts[-1]

    def take_unasked(self, node: MenuNode | CollectNode) -> None:
        """A flow without input (email): read a collect from labelled lines, skip menus."""
        if isinstance(node, CollectNode):
            text = self.raw_text if self.raw_text is not None else self.vars.get("text", "")
            found = find_labelled(text, node.labels)
            value = self.accept(node, found) if found else None
            if value is not None:
                self.keep(node, value)
                self.follow(node.next)
                return
        self.follow(node.fallback)

    @staticmethod
    def accept(node: CollectNode, raw: str) -> str | None:
        squeezed = re.sub(r"\s+", "", raw)
        first = raw.split()[0] if raw.split() else raw
        for candidate in dict.fromkeys((raw, squeezed, first)):
            if re.fullmatch(node.pattern, candidate):
                return candidate
        return None

    def keep(self, node: CollectNode, value: str) -> None:
        if node.secret:
            self.code = value
        elif node.var is not None:
            self.vars[node.var] = value

    def verified(self, node: VerifyNode, result: VerifyResult) -> Step:
        if result.ok:
            self.vars.update(
                verified="1",
                account=result.account or self.vars.get(node.identifier, ""),
                tier=result.tier or "",
                balance_negative="1" if result.balance_negative else "0",
            )
            self.follow(node.ok)
        elif result.locked:
            self.vars["verified"] = "0"
            self.follow(node.locked)
        else:
            self.vars["verified"] = "0"
            self.failures += 1
            self.follow(node.exhausted if self.failures >= node.max_failures else node.fail)
        return self.proceed()
