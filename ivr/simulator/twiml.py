"""TwiML voice documents parsed into verbs, as Twilio reads them (for the IVR simulator).

Only what a voice IVR uses is understood: ``Say``, ``Play``, ``Pause``, ``Gather`` (with
nested ``Say``/``Play``/``Pause``), ``Redirect``, ``Dial`` (``Number`` or ``Client``),
``Hangup`` and ``Reject``. Anything else raises ``TwimlError`` naming the verb, so the
simulator ends the call with a clear error instead of guessing. Defaults follow Twilio's
reference (Gather: timeout 5 s, finishOnKey ``#``, method POST; Pause: 1 s).
``TwimlError`` is in the layer's tree, ``ivr.errors``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ivr.errors import TwimlError

__all__ = [
    "Dial",
    "DialTarget",
    "Gather",
    "Hangup",
    "Pause",
    "Play",
    "Redirect",
    "Reject",
    "Say",
    "TwimlError",
    "Verb",
    "parse",
]

KEYS = "0123456789*#"
_MAX_DOCUMENT_CHARS = 1_000_000


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    language: str = "en-US"
    voice: str | None = None
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Play:
    url: str
    loop: int = 1
    digits: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    length_s: int = 1


@dataclass(frozen=True, slots=True)
class Gather:
    """Collect DTMF keys; ``action`` None means the current document's URL."""

    action: str | None = None
    method: str = "POST"
    timeout_s: int = 5
    finish_on_key: str = "#"  # "" disables it
    num_digits: int | None = None
    input: str = "dtmf"
    action_on_empty_result: bool = False
    prompts: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class DialTarget:
    kind: Literal["number", "client"]
    value: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Dial:
    targets: tuple[DialTarget, ...]
    timeout_s: int = 30
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str = "rejected"


Verb = Say | Play | Pause | Gather | Redirect | Dial | Hangup | Reject


def parse(document: str | bytes) -> tuple[Verb, ...]:
    """The verbs of a TwiML ``<Response>`` document, in order."""
    if len(document) > _MAX_DOCUMENT_CHARS:
        raise TwimlError(f"the TwiML document is over {_MAX_DOCUMENT_CHARS} characters")
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    if "<!DOCTYPE" in text.upper():
        # Entities are how XML bombs work; TwiML has no use for a DOCTYPE.
        raise TwimlError("the TwiML document has a DOCTYPE; TwiML never does")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"the TwiML document is not well-formed XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"the TwiML document's root is <{root.tag}>, not <Response>")
    return tuple(_verb(element) for element in root)


def _verb(element: ET.Element) -> Verb:
    tag = element.tag
    if tag == "Say":
        return _say(element)
    if tag == "Play":
        return _play(element)
    if tag == "Pause":
        return Pause(_int(element, "length", 1, minimum=0))
    if tag == "Gather":
        return _gather(element)
    if tag == "Redirect":
        url = (element.text or "").strip()
        if not url:
            raise TwimlError("<Redirect> has no URL")
        return Redirect(url, _method(element))
    if tag == "Dial":
        return _dial(element)
    if tag == "Hangup":
        return Hangup()
    if tag == "Reject":
        return Reject(element.get("reason", "rejected"))
    raise TwimlError(f"the simulator does not know the TwiML verb <{tag}>")


def _say(element: ET.Element) -> Say:
    return Say(
        text=(element.text or "").strip(),
        language=element.get("language", "en-US"),
        voice=element.get("voice"),
        loop=_int(element, "loop", 1, minimum=0),
    )


def _play(element: ET.Element) -> Play:
    return Play(
        url=(element.text or "").strip(),
        loop=_int(element, "loop", 1, minimum=0),
        digits=element.get("digits"),
    )


def _gather(element: ET.Element) -> Gather:
    finish = element.get("finishOnKey", "#")
    if finish not in ("", *KEYS):
        raise TwimlError(f"<Gather finishOnKey={finish!r}> is not one of 0-9 * # or empty")
    input_kind = element.get("input", "dtmf")
    if "dtmf" not in input_kind.split():
        raise TwimlError(f"<Gather input={input_kind!r}>: the simulator takes dtmf only")
    nested: list[Say | Play | Pause] = []
    for child in element:
        verb = _verb(child)
        if not isinstance(verb, Say | Play | Pause):
            raise TwimlError(f"<{child.tag}> cannot be nested in <Gather>; only Say, Play, Pause")
        nested.append(verb)
    num = element.get("numDigits")
    return Gather(
        action=element.get("action") or None,
        method=_method(element),
        timeout_s=_int(element, "timeout", 5, minimum=1),
        finish_on_key=finish,
        num_digits=None if num is None else _int(element, "numDigits", 1, minimum=1),
        input=input_kind,
        action_on_empty_result=_bool(element, "actionOnEmptyResult"),
        prompts=tuple(nested),
    )


def _dial(element: ET.Element) -> Dial:
    targets: list[DialTarget] = []
    bare = (element.text or "").strip()
    if bare:
        targets.append(DialTarget("number", bare))
    for child in element:
        if child.tag == "Number":
            targets.append(DialTarget("number", (child.text or "").strip()))
        elif child.tag == "Client":
            targets.append(_client(child))
        else:
            raise TwimlError(f"the simulator does not know <{child.tag}> inside <Dial>")
    if not targets or not all(t.value for t in targets):
        raise TwimlError("<Dial> has no number or client to call")
    return Dial(
        tuple(targets),
        timeout_s=_int(element, "timeout", 30, minimum=1),
        action=element.get("action") or None,
    )


def _client(element: ET.Element) -> DialTarget:
    identity = (element.text or "").strip()
    params: dict[str, str] = {}
    for child in element:
        if child.tag == "Identity":
            identity = (child.text or "").strip()
        elif child.tag == "Parameter":
            params[child.get("name", "")] = child.get("value", "")
        else:
            raise TwimlError(f"the simulator does not know <{child.tag}> inside <Client>")
    return DialTarget("client", identity, params)


def _method(element: ET.Element) -> str:
    method = element.get("method", "POST").upper()
    if method not in ("GET", "POST"):
        raise TwimlError(f"<{element.tag} method={method!r}> must be GET or POST")
    return method


def _int(element: ET.Element, name: str, default: int, *, minimum: int) -> int:
    raw = element.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> is not a whole number") from None
    if value < minimum:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> is below {minimum}")
    return value


def _bool(element: ET.Element, name: str) -> bool:
    raw = element.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise TwimlError(f"<{element.tag} {name}={raw!r}> must be true or false")
    return raw == "true"
