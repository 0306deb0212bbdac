"""Prompt templates kept once, so that a history keeps a prompt as a template id and params.

A waiting crowd's histories are most of what Redis holds, and most of a voice caller's
history is the flow's prompts: the same dozen sentences for every caller. A message whose
``template`` and ``params`` give its text (``fill``) is kept as ``{"T": id, "p": params}``,
the template once under ``sb:texts`` (written before any history refers to it, and never
deleted). Template ids are a hash of the template, so every process agrees on them; each
process caches the templates it has written or read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import string
from collections.abc import Sequence

from queues.models import Message, fill
from queues.redis.codec import decode_message
from queues.redis.keys import TEXTS_KEY
from queues.redis.scripts import Client

__all__ = ["Texts", "template_id"]

#: Templates a process keeps in memory; past this the cache starts again (a config holds
#: some hundreds).
_CACHE_LIMIT = 10_000


def template_id(template: str) -> str:
    """12 hex digits of the template's SHA-1: ids of different templates do not meet."""
    return hashlib.sha1(template.encode(), usedforsecurity=False).hexdigest()[:12]


class Texts:
    def __init__(self, client: Client) -> None:
        self._redis = client
        self._known: dict[str, str] = {}

    async def keep(self, message: Message) -> tuple[str, dict[str, str]] | None:
        """The id the message's template is kept under and the params it uses, or None
        when the message keeps its text (no template, or one that does not give it)."""
        template = message.template
        if template is None:
            return None
        params = {k: v for k, v in message.params.items() if k in _fields(template)}
        if fill(template, params) != message.text:
            return None
        tid = template_id(template)
        if tid not in self._known:
            await self._redis.hsetnx(TEXTS_KEY, tid, template)
            self._remember(tid, template)
        return tid, params

    async def messages(self, raws: Sequence[str], contact_id: str) -> list[Message]:
        """Decode a contact's stored messages, reading the templates this process has not
        seen."""
        wanted = {tid for raw in raws for tid in _template_ids(raw) if tid not in self._known}
        if wanted:
            ids = sorted(wanted)
            found = await self._redis.hmget(TEXTS_KEY, ids)
            for tid, template in zip(ids, found, strict=True):
                if template is not None:
                    self._remember(tid, str(template))
        return [decode_message(raw, self._known, contact_id) for raw in raws]

    def _remember(self, tid: str, template: str) -> None:
        if len(self._known) >= _CACHE_LIMIT:
            self._known.clear()
        self._known[tid] = template


@functools.lru_cache(maxsize=1024)
def _fields(template: str) -> frozenset[str]:
    """The names a template's {placeholders} use (none when it cannot be parsed)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return frozenset()
    names = (re.split(r"[.\[]", name, maxsplit=1)[0] for _, name, _, _ in parsed if name)
    return frozenset(names)


def _template_ids(raw: str) -> list[str]:
    if not raw.startswith("[") or '{"T":' not in raw:
        return []
    text = json.loads(raw)[2]
    return [text["T"]] if isinstance(text, dict) else []
