"""TwiML as strings prepared once: the voice answers without building an ElementTree.

Every function here returns exactly what ``str()`` of twilio's ``VoiceResponse`` returns for
the same verbs (``tests/channels/twilio/test_twiml.py`` holds them to it): the XML declaration,
attributes in sorted order with ``True``/``False`` as ``true``/``false``, ElementTree's
escaping (``& < >`` in text; also ``"``, CR, LF and TAB in attributes), ``<Verb />`` for an
empty element, and a character reference for what UTF-8 cannot encode (a lone surrogate).

What does not vary is prepared once and kept in bounded caches, keyed by what varies: a
``<Say>`` by its text, locale and voice; a step's whole answer (a Gather with its prompts and
the fall-through Redirect) by its action URL, its input shape and its prompts; a Redirect by
its URL. ``render`` serialises any other TwiML tree (the callback offer, the survey) with the
same rules, walking it instead of going through ElementTree.
"""

from __future__ import annotations

import json
from functools import lru_cache

from twilio.twiml import TwiML

__all__ = [
    "DECLARATION",
    "HANGUP",
    "HANGUP_DOCUMENT",
    "document",
    "element",
    "message",
    "pause",
    "redirect",
    "render",
    "say",
    "serialize",
    "step",
]

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
HANGUP = "<Hangup />"
_CACHED = 4096  # distinct prompts x locales, URLs and step shapes a router says in a day


def _encodable(text: str) -> str:
    # ElementTree writes through UTF-8 with errors="xmlcharrefreplace": a lone surrogate
    # becomes &#NNNNN; (after the escaping, so its & is not escaped again).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "xmlcharrefreplace").decode("utf-8")
    return text


def _text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return _encodable(text)


def _attribute(value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    for raw, escaped in _ATTRIBUTE_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return _encodable(text)


_ATTRIBUTE_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
)


def element(tag: str, attributes: dict[str, object], body: str = "") -> str:
    """``<tag ...>body</tag>``: attributes by their TwiML names (``finishOnKey``), None
    left out; ``body`` is TwiML already (escape text with ``say``-like helpers)."""
    pairs = "".join(
        f' {name}="{_attribute(value)}"'
        for name, value in sorted(attributes.items())
        if value is not None
    )
    return f"<{tag}{pairs}>{body}</{tag}>" if body else f"<{tag}{pairs} />"


def document(body: str) -> str:
    """The whole answer: the declaration and ``<Response>`` around ``body``."""
    return f"{DECLARATION}<Response>{body}</Response>" if body else f"{DECLARATION}<Response />"


HANGUP_DOCUMENT = document(HANGUP)


@lru_cache(maxsize=_CACHED)
def say(text: str, locale: str, voice: str | None = None) -> str:
    """``<Say language=locale voice=voice>text</Say>`` (no voice: Twilio's default)."""
    return element("Say", {"language": locale, "voice": voice or None}, _text(text))


def message(text: str) -> str:
    """``<Message>text</Message>``: an SMS reply (``MessagingResponse.message``)."""
    return element("Message", {}, _text(text))


@lru_cache(maxsize=_CACHED)
def redirect(url: str) -> str:
    """``<Redirect method="POST">url</Redirect>``."""
    return element("Redirect", {"method": "POST"}, _text(url))


def pause(length_s: int) -> str:
    return f'<Pause length="{length_s}" />'


@lru_cache(maxsize=_CACHED)
def step(
    action: str, timeout_s: int, finish_on_key: str, num_digits: int | None, says: tuple[str, ...]
) -> str:
    """A step's whole answer: a keypad Gather posting to ``action`` around ``says`` (from
    ``say``), then a Redirect to ``action&timeout=1`` Twilio follows when nothing is pressed."""
    attributes: dict[str, object] = {
        "input": "dtmf",
        "action": action,
        "method": "POST",
        "timeout": timeout_s,
        "finishOnKey": finish_on_key,
        "numDigits": num_digits,
    }
    return document(element("Gather", attributes, "".join(says)) + redirect(f"{action}&timeout=1"))


def serialize(node: TwiML) -> str:
    """``node`` and what it holds, as ElementTree writes ``node.xml()`` (no declaration)."""
    text: str | None = None
    if node.value:
        text = json.dumps(node.value) if isinstance(node.value, dict) else node.value
    children: list[list[str]] = []  # [element, tail]
    for verb in node.verbs:
        if not isinstance(verb, str):
            children.append([serialize(verb), ""])
        elif children:
            children[-1][1] = verb
        else:
            text = verb
    body = _text(text) if text else ""
    body += "".join(child + (_text(tail) if tail else "") for child, tail in children)
    return element(node.name, node.attrs, body)  # a child is never empty: "<X />" at least


def render(response: TwiML) -> str:
    """What ``str(response)`` returns, without ElementTree."""
    return DECLARATION + serialize(response)
