"""The pure flow engine: (state, answer or verification result, facts) -> step.

No I/O and no clock: the router passes what it knows as ``Facts``, performs the step's
effect, and calls ``resume`` after a ``Verify``. ``Enqueue`` and ``End`` finish the flow.
"""

from __future__ import annotations

from ivr.classify import detect_language, redact_labelled
from ivr.errors import StateError
from ivr.flow import Flow, FlowBook
from ivr.nodes import CollectNode, MenuNode, VerifyNode
from ivr.run import Run
from ivr.state import Facts, FlowState, Prompt, Step, VerifyResult
from queues import fill

__all__ = ["Engine"]

_KEPT_TEXT_CHARS = 4000


class Engine:
    """Runs the flows of a FlowBook; every method is pure and deterministic."""

    def __init__(self, book: FlowBook) -> None:
        self._book = book
        # Labels of the secret collects per flow: their lines are masked in the kept text.
        self._secret_labels = {
            name: tuple(
                label
                for node in flow.nodes.values()
                if isinstance(node, CollectNode) and node.secret
                for label in node.labels
            )
            for name, flow in book.flows.items()
        }

    @property
    def book(self) -> FlowBook:
        return self._book

    def _flow(self, name: str) -> Flow:
        flow = self._book.flows.get(name)
        if flow is None:
            known = ", ".join(self._book.flows) or "none"
            raise StateError(f"there is no flow {name!r} in the flow book; flows: {known}")
        return flow

    def start(
        self, flow: str, *, facts: Facts, language: str | None = None, text: str | None = None
    ) -> Step:
        """Start a flow; ``text`` is the first message of a text or email contact."""
        spec = self._flow(flow)
        book = self._book
        if language not in book.languages:
            language = book.default_language
            if text:
                language = detect_language(text, book.languages, book.default_language)
        variables = {"language": language, "verified": "0", "complaint": "0"}
        if text is not None:
            kept = self.redact(flow, text)
            # The session keeps enough to classify; the whole message is in the contact.
            variables["text"] = kept[:_KEPT_TEXT_CHARS]
        state = FlowState(flow=flow, node=spec.start, language=language, vars=variables)
        return Run(book, spec, state, facts, raw_text=text).proceed()

    def redact(self, flow: str, text: str) -> str:
        """``text`` with the values of the flow's auth-code lines (``Kod: ...``) masked."""
        return redact_labelled(text, self._secret_labels.get(flow, ()))

    def advance(self, state: FlowState, answer: str | None, *, facts: Facts) -> Step:
        """Feed the customer's answer (None: timeout or no input) to the waiting node."""
        run = self._run(state, facts)
        node = run.node()
        if isinstance(node, MenuNode):
            return run.choose(node, answer)
        if isinstance(node, CollectNode):
            return run.collect(node, answer)
        if isinstance(node, VerifyNode):
            raise StateError(
                f"flow {state.flow!r} waits for a verification result at {state.node!r}; "
                "call resume() with the result of the Verify effect"
            )
        raise StateError(f"node {state.node!r} of flow {state.flow!r} does not take an answer")

    def resume(self, state: FlowState, result: VerifyResult, *, facts: Facts) -> Step:
        """Continue after the Verify effect with what the router found."""
        run = self._run(state, facts)
        node = run.node()
        if not isinstance(node, VerifyNode):
            raise StateError(
                f"node {state.node!r} of flow {state.flow!r} is not a verify node; "
                "resume() follows a Verify effect only"
            )
        return run.verified(node, result)

    def _run(self, state: FlowState, facts: Facts) -> Run:
        if state.finished:
            raise StateError(f"flow {state.flow!r} has finished (queued or ended); start a new one")
        return Run(self._book, self._flow(state.flow), state, facts)

    def render(self, prompt: Prompt, language: str) -> str:
        """The prompt's text in ``prompt.language`` (else ``language``) with its params."""
        return fill(*self.compose(prompt, language))

    def compose(self, prompt: Prompt, language: str) -> tuple[str, dict[str, str]]:
        """The prompt's template in ``prompt.language`` (else ``language``) and the params
        to fill it with (a team's name in that language): ``render`` is their ``fill``.
        A template with stray braces (lint reports it) is said as typed, not dropped."""
        book = self._book
        texts = book.prompts.get(prompt.key)
        if texts is None:
            raise StateError(f"prompt {prompt.key!r} is not defined under prompts: in the config")
        lang = prompt.language or language
        template = texts.get(lang) or texts.get(book.default_language)
        if template is None:
            template = next(iter(texts.values()))
        params = dict(prompt.params)
        team = params.get("team")
        if team is not None:
            params["team"] = book.team_names.get(team, {}).get(lang, team)
        return template, params
