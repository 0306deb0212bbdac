"""Idempotency: what a conversation's session remembers so a provider's retry is answered
with exactly what was said the first time, and never advances the flow twice.

The session (a store session under ``<channel>:<conversation>``) holds the contact's id, the
flow state, whether the next input is secret, the queue prompt, the idempotency keys already
answered (the last ``HANDLED_KEYS``), and the last answer (its key, prompts and expectation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from channels import Answer, Spoken
from ivr import Expect, FlowState
from queues import Contact

__all__ = ["HANDLED_KEYS", "expect_from", "handled_keys", "replayed", "session_record"]

#: Idempotency keys remembered per conversation as answered (a retry of one replays).
HANDLED_KEYS = 32


def session_record(
    contact_id: str,
    *,
    key: str,
    spoken: Iterable[Spoken],
    flow: FlowState | None = None,
    expect: Expect | None = None,
    queue_prompt: str | None = None,
    handled: Iterable[str] = (),
) -> dict[str, Any]:
    """The session after answering the input under ``key`` with ``spoken``.

    Kept small, as every caller on hold has one: what is unset is left out, the keys
    answered share their common prefix (a call's ``voice:<CallSid>:``), and the last
    answer's key is the last of them.
    """
    record: dict[str, Any] = {"contact_id": contact_id}
    if flow is not None:
        record["flow"] = flow.to_dict()
    if expect is not None and expect.secret:
        record["secret"] = True
    if queue_prompt is not None:
        record["queue_prompt"] = queue_prompt
    keys = [*handled, key][-HANDLED_KEYS:]
    heads = {k.rpartition(":")[0] for k in keys}
    prefix = heads.pop() + ":" if len(heads) == 1 and "" not in heads else ""
    record["handled"] = {"p": prefix, "s": [k[len(prefix) :] for k in keys]}
    answer: dict[str, Any] = {"prompts": [[s.text, s.language] for s in spoken]}
    if expect is not None:
        answer["expect"] = _expect_dict(expect)
    record["answer"] = answer
    return record


def handled_keys(session: Mapping[str, Any] | None) -> list[str]:
    """The idempotency keys a session has answered, oldest first."""
    if not session:
        return []
    handled = session.get("handled", ())
    if isinstance(handled, Mapping):
        return [handled["p"] + suffix for suffix in handled["s"]]
    return list(handled)  # a session saved by an earlier version


def replayed(contact: Contact, session: Mapping[str, Any], key: str, stored_text: str) -> Answer:
    """The answer to a retry of an input already answered: the same prompts again, or none
    when a later input has been answered since."""
    replay = session.get("answer", {})
    answered = handled_keys(session)
    if replay.get("key", answered[-1] if answered else None) != key:
        replay = {}  # an older input: already answered, nothing to say again
    return Answer(
        contact,
        tuple(Spoken(text, language) for text, language in replay.get("prompts", ())),
        expect_from(replay.get("expect")),
        duplicate=True,
        stored_text=stored_text,
    )


def _expect_dict(expect: Expect | None) -> dict[str, Any] | None:
    if expect is None:
        return None
    return {
        "kind": expect.kind,
        "num_digits": expect.num_digits,
        "finish_on_key": expect.finish_on_key,
        "timeout_s": expect.timeout_s,
        "secret": expect.secret,
    }


def expect_from(data: Mapping[str, Any] | None) -> Expect | None:
    return None if data is None else Expect(**data)
