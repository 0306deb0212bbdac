"""The topic normaliser: what a first message is about, the same across channels and languages.

A message's *features* are the lexicon's concepts it names (``lexicon.py``: services such as
``internet``, symptoms such as ``outage``) and, when it names fewer than two, its other
content words, normalised (case folded, diacritics dropped, cut to ``WORD_STEM`` letters so
that inflected forms meet: "allegro" and "allegrze" are ``allegr``). At most
``MAX_FEATURES`` features are kept. A *topic* is an unordered pair of features (a word
shingle over concepts), written ``a+b`` with services before symptoms before words; a
message with one feature has that one as its topic. "nie działa internet", "no internet",
"не работает интернет" and "Awaria światłowodu" all have the topic ``internet+outage``.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from router.outages.lexicon import CONCEPTS, LANGUAGES, STOPWORDS, TEMPLATES

__all__ = [
    "MAX_FEATURES",
    "Feature",
    "announcement",
    "features",
    "normalise",
    "team_of",
    "topic_keys",
    "topic_symptom",
    "topics_of",
]

MAX_FEATURES = 4
WORD_STEM = 6
_MIN_WORD = 3
_FOLD = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "ß": "ss", "đ": "d", "ё": "е", "Ё": "е"})
_WORD = re.compile(r"\w+")
_HEBREW = re.compile(r"[\u0590-\u05ff]")
_HEBREW_PREFIXES = frozenset("והבלמשכ")
_RANK = {"service": 0, "symptom": 1, "word": 2}


def normalise(text: str) -> list[str]:
    """The words of ``text``, case folded, without diacritics or Hebrew points."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD).casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(plain)


@dataclass(frozen=True, slots=True)
class Feature:
    key: str  # a concept's name or a word's stem
    kind: str  # "service", "symptom" or "word"
    surface: str  # the word as written (normalised), for labels


@dataclass(frozen=True, slots=True)
class _Stem:
    parts: tuple[str, ...]
    exact: bool


def _parse(stem: str) -> _Stem | None:
    parts = tuple(normalise(stem.rstrip("$")))
    return _Stem(parts, stem.endswith("$")) if parts else None


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A list of stems prepared once: one-word stems as a tuple of prefixes (one
    ``startswith`` per word) and a set of whole words, phrases with their first parts
    likewise, so that a message's words are each looked at a few times, not once a stem."""

    prefixes: tuple[str, ...]
    wholes: frozenset[str]
    phrases: tuple[_Stem, ...]
    first_prefixes: tuple[str, ...]
    first_wholes: frozenset[str]


def _whole(stem: _Stem, part: str) -> bool:
    # A part of one or two letters ("w", "no") is a whole word, never a prefix.
    return stem.exact or len(part) <= 2


@functools.lru_cache(maxsize=256)
def _prepare(stems: tuple[str, ...]) -> _Prepared:
    parsed = [p for p in map(_parse, stems) if p is not None]
    singles = [p for p in parsed if len(p.parts) == 1]
    phrases = tuple(p for p in parsed if len(p.parts) > 1)
    return _Prepared(
        prefixes=tuple(sorted({p.parts[0] for p in singles if not _whole(p, p.parts[0])})),
        wholes=frozenset(p.parts[0] for p in singles if _whole(p, p.parts[0])),
        phrases=phrases,
        first_prefixes=tuple(sorted({p.parts[0] for p in phrases if not _whole(p, p.parts[0])})),
        first_wholes=frozenset(p.parts[0] for p in phrases if _whole(p, p.parts[0])),
    )


@cache
def _parsed_stems() -> tuple[tuple[str, _Prepared], ...]:
    return tuple((name, _prepare(tuple(c.stems))) for name, c in CONCEPTS.items())


def _variants(word: str) -> tuple[str, ...]:
    """A Hebrew word also with up to two one-letter prefixes (ו ה ב ל מ ש כ) stripped."""
    if not _HEBREW.match(word):
        return (word,)
    found, rest = [word], word
    for _ in range(2):
        if len(rest) > 3 and rest[0] in _HEBREW_PREFIXES:
            rest = rest[1:]
            found.append(rest)
        else:
            break
    return tuple(found)


def _part_matches(forms: tuple[str, ...], part: str, *, exact: bool) -> bool:
    return any(f == part if exact else f.startswith(part) for f in forms)


def _starts(forms: tuple[str, ...], prefixes: tuple[str, ...], wholes: frozenset[str]) -> bool:
    return any((prefixes and f.startswith(prefixes)) or f in wholes for f in forms)


def _covered(forms: list[tuple[str, ...]], stems: _Prepared) -> tuple[set[int], int]:
    """The words the stems cover, and where the first covered one is (len: none)."""
    covered: set[int] = set()
    first = len(forms)
    for start, word in enumerate(forms):
        if _starts(word, stems.prefixes, stems.wholes):
            covered.add(start)
            first = min(first, start)
        if not _starts(word, stems.first_prefixes, stems.first_wholes):
            continue
        for stem in stems.phrases:
            end = start + len(stem.parts)
            if end <= len(forms) and all(
                _part_matches(forms[start + i], part, exact=_whole(stem, part))
                for i, part in enumerate(stem.parts)
            ):
                covered.update(range(start, end))
                first = min(first, start)
    return covered, first


def _concepts(tokens: list[str]) -> tuple[list[Feature], set[int]]:
    """The concepts the words name, in the order they first appear, and the words used."""
    forms = [_variants(t) for t in tokens]
    found: dict[str, int] = {}
    used: set[int] = set()
    for name, stems in _parsed_stems():
        covered, first = _covered(forms, stems)
        if covered:
            found[name] = first
            used |= covered
    ordered = sorted(found, key=lambda name: found[name])
    return [Feature(n, CONCEPTS[n].kind, tokens[found[n]]) for n in ordered], used


def team_of(text: str | None, teams: Mapping[str, Iterable[str]]) -> str | None:
    """The team whose keyword stems (config ``keywords``, every language) cover the most
    words of ``text``; None when none does or two tie (as the flow's classification)."""
    forms = [_variants(t) for t in normalise(text or "")]
    scores = {
        team: len(_covered(forms, _prepare(tuple(stems)))[0]) for team, stems in teams.items()
    }
    best = max(scores.values(), default=0)
    leaders = [team for team, score in scores.items() if score == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else None


def features(text: str) -> list[Feature]:
    """What the message names: its concepts, then (when fewer than two) its content words;
    at most ``MAX_FEATURES``, services first, then symptoms, then words."""
    tokens = normalise(text)
    concepts, used = _concepts(tokens)
    found = list(concepts)
    if len(found) < 2:
        seen = set()
        for i, token in enumerate(tokens):
            if i in used or token in STOPWORDS or len(token) < _MIN_WORD or token.isdigit():
                continue
            stem = token[:WORD_STEM]
            if stem not in seen:
                seen.add(stem)
                found.append(Feature(stem, "word", token))
    found = found[:MAX_FEATURES]
    return sorted(found, key=lambda f: (_RANK[f.kind], f.key))


def topic_keys(found: Iterable[Feature]) -> list[str]:
    """The topics of a message's features: every pair, or the one feature alone."""
    ordered = sorted(found, key=lambda f: (_RANK[f.kind], f.key))
    if len(ordered) == 1:
        return [ordered[0].key]
    return [f"{a.key}+{b.key}" for a, b in itertools.combinations(ordered, 2)]


def topics_of(text: str | None) -> frozenset[str]:
    """Every topic of a first message (none for no text)."""
    return frozenset(topic_keys(features(text or "")))


def topic_symptom(topic: str) -> str:
    """The symptom concept a topic names, or ""."""
    for part in topic.split("+"):
        concept = CONCEPTS.get(part)
        if concept is not None and concept.kind == "symptom":
            return part
    return ""


def _label(part: str, language: str, words: Mapping[str, str]) -> str:
    concept = CONCEPTS.get(part)
    if concept is not None:
        return concept.label.get(language) or concept.label["en"]
    return words.get(part, part)


def announcement(
    topic: str | None, *, team_name: Mapping[str, str], words: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The suggested announcement per shipped language: from the topic's concepts (and the
    words written, for a topic of words), or for a rate spike (no topic) the team's name."""
    words = words or {}
    texts = {}
    for language in LANGUAGES:
        if topic is None:
            team = team_name.get(language) or team_name.get("en") or ""
            text = TEMPLATES["rate"][language].format(team=team)
        else:
            symptom = topic_symptom(topic)
            parts = [p for p in topic.split("+") if p != symptom] or [symptom]
            what = " / ".join(_label(p, language, words) for p in parts)
            text = TEMPLATES[symptom][language].format(what=what)
        texts[language] = text[:1].upper() + text[1:]
    return texts
