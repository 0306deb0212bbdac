"""Prompt templates kept once, so that a history keeps a prompt as a template code and params.

A waiting crowd's histories are most of what Redis holds, and most of a voice caller's
history is the flow's prompts: the same dozen sentences for every caller. A message whose
``template`` and ``params`` give its text (``fill``) is kept as the template's code and the
params (``messages.py``); the template is kept once under ``sb:texts``, written before any
history refers to it and never deleted. A template's code is a number the ``text_code``
script gives it the first time any process keeps it (fields ``<code>`` -> template and
``#<template id>`` -> code, ``#`` the last code given; a template id is a hash of the
template, 12 hex digits). Earlier versions referred to templates by their id (fields
``<template id>`` -> template), which still read. Each process caches what it has written
or read.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from queues.models import Message, fill
from queues.redis.keys import TEXTS_KEY
from queues.redis.messages import Prompt, decode_message, template_fields, template_refs
from queues.redis.scripts import Client, Scripts

__all__ = ["Texts", "template_id"]

#: Templates a process keeps in memory; past this the cache starts again (a config holds
#: some hundreds).
_CACHE_LIMIT = 10_000

#: Prompt texts kept lately, with how they were kept: a session saved after them keeps its
#: answer's prompts the same way (``sessions.py``). A turn's prompts are kept just before
#: its session is saved, so a few thousand cover every turn under way.
_RECENT_LIMIT = 4_096


def template_id(template: str) -> str:
    """12 hex digits of the template's SHA-1: ids of different templates do not meet."""
    return hashlib.sha1(template.encode(), usedforsecurity=False).hexdigest()[:12]


class Texts:
    def __init__(self, client: Client, scripts: Scripts) -> None:
        self._redis = client
        self._scripts = scripts
        self._known: dict[str, str] = {}  # sb:texts field (code or template id) -> template
        self._codes: dict[str, int] = {}  # template -> code
        self._recent: dict[str, Any] = {}  # prompt text -> its kept form (Prompt.encoded)

    async def keep(self, message: Message) -> Prompt | None:
        """The code the message's template is kept under and the params it uses, or None
        when the message keeps its text (no template, or one that does not give it)."""
        template = message.template
        if template is None:
            return None
        names = template_fields(template)
        params = {k: v for k, v in message.params.items() if k in names}
        if fill(template, params) != message.text:
            return None
        code = self._codes.get(template)
        if code is None:
            reply = await self._scripts.run(
                "text_code", [TEXTS_KEY], [template_id(template), template]
            )
            code = int(reply[0])
            self._remember(str(code), template)
            self._codes[template] = code
        prompt = Prompt(code, template, params)
        if len(self._recent) >= _RECENT_LIMIT:
            del self._recent[next(iter(self._recent))]  # the oldest
        self._recent[message.text] = prompt.encoded()
        return prompt

    def kept_as(self, text: str) -> Any | None:
        """How a prompt with this text was kept lately (a code, or ``[code, params...]``),
        or None: any form kept for a text gives that text back."""
        return self._recent.get(text)

    async def messages(self, raws: Sequence[str], contact_id: str) -> list[Message]:
        """Decode a contact's stored messages, reading the templates this process has not
        seen."""
        templates = await self.templates(ref for raw in raws for ref in template_refs(raw))
        return [decode_message(raw, templates, contact_id) for raw in raws]

    async def templates(self, refs: Iterable[str]) -> Mapping[str, str]:
        """The templates this process knows, after reading those of ``refs`` it did not."""
        wanted = sorted({ref for ref in refs if ref not in self._known})
        if not wanted:
            return self._known
        read: dict[str, str] = {}
        for ref, template in zip(wanted, await self._redis.hmget(TEXTS_KEY, wanted), strict=True):
            if template is not None:
                read[ref] = str(template)
                self._remember(ref, read[ref])
        return ChainMap(read, self._known)  # the cache may have started again meanwhile

    def _remember(self, ref: str, template: str) -> None:
        if len(self._known) >= _CACHE_LIMIT:
            self._known.clear()
            self._codes.clear()
        self._known[ref] = template
