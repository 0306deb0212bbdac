"""Text out of mail: bytes in any charset, RFC 2047 words, HTML, and quoted replies.

Nothing here raises on bad input: an unknown or wrong charset falls back to a guess, a
broken encoded word stays as it was, and malformed HTML still gives its text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from html.parser import HTMLParser

__all__ = ["decode_bytes", "decode_words", "html_to_text", "trim_quoted"]

#: Single-byte charsets a mail without a usable declaration is tried in (UTF-8 first).
GUESSES = ("cp1251", "koi8-r", "iso-8859-2", "cp1250", "cp1255", "iso-8859-8", "cp1252")
#: Declarations that say little: mail labelled so is often really in another charset.
_WEAK = frozenset({"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "cp1252"})
# Letter weights, roughly letter frequencies in %, for telling a right guess from mojibake.
_RU = "о11е8.5а8и7.4н6.7т6.3с5.5р4.7в4.5л4.4к3.5м3.2д3п2.8у2.6я2ы1.9ь1.7г1.7з1.6б1.6ч1.4й1.2х1ж.9ш.7ю.6ц.5щ.4э.3ф.3ё.2"  # noqa: E501
_HE = "י11ו10ה9ל7א6מ5ר5.5ב5ת5ש4נ4ע3ד2.5כ2.5ק2ח2ם2פ1.5ן1.5ס1ג1צ1ט1ז.7ך.7ף.3ץ.2"
_LATIN = "ąęóśłżźćńĄĘÓŚŁŻŹĆŃéèàâäçêëîïôöùûüñßáíú"
_WEIGHTS: dict[str, float] = {
    **{m[0]: float(m[1:]) for m in re.findall(r"\D[\d.]+", _RU)},
    **{m[0]: float(m[1:]) for m in re.findall(r"\D[\d.]+", _HE)},
    **dict.fromkeys(_LATIN, 5.0),
}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower().split("*")[0]  # RFC 2231 language suffix
    aliases = {"utf8": "utf-8", "x-unknown": "", "unknown-8bit": "", "unknown": ""}
    name = aliases.get(name, name)
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def _score(text: str) -> float:
    score = 0.0
    for char in text:
        if char < "\x80":
            continue
        weight = _WEIGHTS.get(char)
        if weight is not None:
            score += weight
        elif char.isalpha():
            score += 0.5 if char.isupper() else 1.0
        elif unicodedata.category(char)[0] in "CS" or char == "\ufffd":
            score -= 5.0  # control, unassigned or symbol: the guess is wrong
    return score


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """``data`` as text: the declared charset when it fits, else UTF-8, else the best guess."""
    codec = _codec(declared)
    if codec is not None:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if codec not in _WEAK or data.isascii():
                return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = ((codec,) if codec else ()) + GUESSES
    best, best_score = "", float("-inf")
    for name in candidates:
        text = data.decode(name, errors="replace")
        score = _score(text) * (1.1 if name == codec else 1.0)
        if score > best_score:
            best, best_score = text, score
    return best


def _word(charset: str, encoding: str, payload: str) -> str | None:
    try:
        if encoding.lower() == "b":
            payload = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            raw = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            raw = re.sub(
                rb"=([0-9A-Fa-f]{2})",
                lambda m: bytes([int(m.group(1), 16)]),
                payload.replace("_", " ").encode("ascii", "surrogateescape"),
            )
    except (binascii.Error, ValueError):
        return None
    return decode_bytes(raw, charset)


def decode_words(value: str) -> str:
    """A header value with its RFC 2047 words decoded and raw 8-bit bytes guessed."""
    if any("\udc80" <= c <= "\udcff" for c in value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"))
    value = re.sub(r"\r?\n[ \t]*", " ", value)
    if "=?" in value:
        value = _BETWEEN_WORDS.sub(r"\1", value)
        value = _ENCODED_WORD.sub(
            lambda m: _word(m.group(1), m.group(2), m.group(3)) or m.group(0), value
        )
    return "".join(c for c in value if c == "\t" or unicodedata.category(c) != "Cc").strip()


_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
_BLOCK = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt"}
)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def _break(self) -> None:
        line = "".join(self._line)
        line = line.rstrip() if self._pre else re.sub(r"[ \t\xa0]+", " ", line).strip()
        self._line = []
        if line or (self.lines and self.lines[-1].strip("> ")):
            self.lines.append("> " * self._quote + line if line else "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK:
            self._break()
            if tag == "li":
                self._line.append("- ")
            self._quote += tag == "blockquote"
            self._pre += tag == "pre"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self._break()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._line.append(first)
            for line in rest:
                self._break()
                self._line.append(line)
        else:
            self._line.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML body; scripts and styles are left out."""
    parser = _Html()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # whatever it was, keep what was read so far
        pass
    parser._break()
    return "\n".join(parser.lines).strip()


_ATTRIBUTION = re.compile(
    r"^(On\b.{0,300}\bwrote|W dniu\b.{0,300}\bpisze|.{0,300}\b(napisał|napisała|napisał\(a\)|"
    r"пишет|написал|написала|написал\(а\)|schrieb|a écrit|כתב|כתבה|כתב/ה))\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(Original Message|Oryginalna wiadomość|Wiadomość oryginalna|"
    r"Исходное сообщение|Пересланное сообщение|Forwarded message|הודעה מקורית)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Gmail in Russian or Hebrew has no verb: "пн, 1 янв. 2024 г. в 10:00, Иван <i@x.ru>:".
_ADDRESS_COLON = re.compile(r"@[^\s<>]+>\W*:\W*$")
_OUTLOOK_FROM = re.compile(r"^\s*\**(From|Od|От|מאת)\s*:\**\s", re.IGNORECASE)
_OUTLOOK_MORE = re.compile(
    r"^\s*\**(Sent|Date|Wysłano|Data|Отправлено|Дата|נשלח|תאריך)\s*:", re.IGNORECASE
)


def _cut_at(lines: list[str]) -> int | None:
    for n, line in enumerate(lines):
        joined = f"{line} {lines[n + 1]}" if n + 1 < len(lines) else line
        if _SEPARATOR.match(line) or _ATTRIBUTION.match(line.strip()):
            return n
        if not line.startswith(">") and _ATTRIBUTION.match(joined.strip()):
            return n  # "On Mon, ... <a@b>" wrapped before "wrote:"
        following = next((x for x in lines[n + 1 :] if x.strip()), "")
        if _ADDRESS_COLON.search(line) and following.startswith(">"):
            return n
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_MORE.match(x) for x in lines[n + 1 : n + 5]):
            return n
        if line.startswith(">") and all(x.startswith(">") or not x.strip() for x in lines[n:]):
            return n
    return None


def trim_quoted(text: str) -> str | None:
    """The new part of a reply without the quoted mail below it; None when nothing is cut.

    Interleaved answers (quote, answer, quote, answer) are kept whole: they need the quotes.
    """
    lines = text.splitlines()
    cut = _cut_at(lines)
    if cut is None:
        return None
    kept = "\n".join(lines[:cut]).rstrip()
    return kept if kept.strip() else None
