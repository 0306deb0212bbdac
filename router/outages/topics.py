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
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from router.outages.lexicon import CONCEPTS, LANGUAGES, STOPWORDS, TEMPLATES

__all__ = [
    "MAX_FEATURES",
    "Feature",
    "announcement",
    "features",
    "normalise",
    "read",
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
_DIGIT = re.compile(r"\d")
#: Words whose lookups are kept per prepared index (``_Index.seen``); a word with a digit
#: is never kept (it may be an auth code or a number).
_SEEN_KEPT = 10_000


class _Marks(dict[int, int | None]):
    """A ``translate`` table dropping every combining mark (diacritics, Hebrew points),
    filled as characters are first seen (at most ``_MARKS_KEPT`` of them are kept)."""

    def __missing__(self, code: int) -> int | None:
        mapped = None if unicodedata.combining(chr(code)) else code
        if len(self) < _MARKS_KEPT:
            self[code] = mapped
        return mapped


_MARKS_KEPT = 20_000
_MARKS = _Marks()


def normalise(text: str) -> list[str]:
    """The words of ``text``, case folded, without diacritics or Hebrew points."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD).casefold())
    return _WORD.findall(decomposed.translate(_MARKS))


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
class _Index:
    """Groups of stems (a concept's, a team's keywords) prepared once as dictionaries: a
    one-word stem under its word (a prefix, or a whole word), a phrase under its first
    word. A message's word is looked up once per length of its prefixes, whatever the
    number of groups and stems."""

    prefixes: dict[str, tuple[str, ...]]  # prefix -> groups
    wholes: dict[str, tuple[str, ...]]  # whole word -> groups
    first_prefixes: dict[str, tuple[tuple[str, _Stem], ...]]  # -> (group, phrase)
    first_wholes: dict[str, tuple[tuple[str, _Stem], ...]]
    longest: int  # the longest prefix: longer ones need not be looked up
    # What a word's forms found (one-word groups, phrases starting there): the words of
    # messages repeat, and the stems never change.
    seen: dict[tuple[str, ...], tuple[set[str], set[tuple[str, _Stem]]]] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def lookup(
        self, forms: tuple[str, ...], *, keep: bool = True
    ) -> tuple[set[str], set[tuple[str, _Stem]]]:
        """What the word (as its ``_variants``) names: groups, and phrases to try there."""
        found = self.seen.get(forms)
        if found is not None:
            return found
        found = (
            _found(forms, self.prefixes, self.wholes, self.longest),
            _found(forms, self.first_prefixes, self.first_wholes, self.longest),
        )
        if keep and not _DIGIT.search(forms[0]):
            if len(self.seen) >= _SEEN_KEPT:
                self.seen.clear()
            self.seen[forms] = found
        return found


def _whole(stem: _Stem, part: str) -> bool:
    # A part of one or two letters ("w", "no") is a whole word, never a prefix.
    return stem.exact or len(part) <= 2


def _add(table: dict[str, tuple[object, ...]], key: str, value: object) -> None:
    if value not in table.get(key, ()):
        table[key] = (*table.get(key, ()), value)


@functools.lru_cache(maxsize=256)
def _prepare(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> _Index:
    prefixes: dict[str, tuple[object, ...]] = {}
    wholes: dict[str, tuple[object, ...]] = {}
    first_prefixes: dict[str, tuple[object, ...]] = {}
    first_wholes: dict[str, tuple[object, ...]] = {}
    for name, stems in groups:
        for stem in filter(None, map(_parse, stems)):
            first = stem.parts[0]
            whole = _whole(stem, first)
            if len(stem.parts) == 1:
                _add(wholes if whole else prefixes, first, name)
            else:
                _add(first_wholes if whole else first_prefixes, first, (name, stem))
    longest = max(map(len, [*prefixes, *first_prefixes]), default=0)
    return _Index(prefixes, wholes, first_prefixes, first_wholes, longest)  # type: ignore[arg-type]


@cache
def _concept_index() -> _Index:
    return _prepare(tuple((name, tuple(c.stems)) for name, c in CONCEPTS.items()))


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


def _found(
    forms: tuple[str, ...],
    prefixes: dict[str, tuple[Any, ...]],
    wholes: dict[str, tuple[Any, ...]],
    longest: int,
) -> set[Any]:
    """What the word's forms name: under one of their prefixes, or whole."""
    hits: set[Any] = set()
    for form in forms:
        got = wholes.get(form)
        if got:
            hits.update(got)
        for size in range(1, min(len(form), longest) + 1):
            got = prefixes.get(form[:size])
            if got:
                hits.update(got)
    return hits


def _covered(
    forms: list[tuple[str, ...]], index: _Index, *, keep: bool = True
) -> dict[str, tuple[set[int], int]]:
    """Per group that covers any: the words it covers, and where the first is (``keep``:
    remember each word's lookups, ``_Index.seen``)."""
    covered: dict[str, tuple[set[int], int]] = {}

    def cover(name: str, words: range) -> None:
        got, first = covered.get(name, (set(), len(forms)))
        got.update(words)
        covered[name] = (got, min(first, words.start))

    for start, word in enumerate(forms):
        singles, phrases = index.lookup(word, keep=keep)
        for name in singles:
            cover(name, range(start, start + 1))
        for name, stem in phrases:
            end = start + len(stem.parts)
            if end <= len(forms) and all(
                _part_matches(forms[start + i], part, exact=_whole(stem, part))
                for i, part in enumerate(stem.parts)
            ):
                cover(name, range(start, end))
    return covered


def _concepts(
    tokens: list[str], forms: list[tuple[str, ...]], *, keep: bool = True
) -> tuple[list[Feature], set[int]]:
    """The concepts the words name, in the order they first appear, and the words used."""
    covered = _covered(forms, _concept_index(), keep=keep)
    used: set[int] = set().union(*(words for words, _ in covered.values()))
    order = list(CONCEPTS)  # ties in first place: the lexicon's order, as before
    ordered = sorted(covered, key=lambda name: (covered[name][1], order.index(name)))
    return [Feature(n, CONCEPTS[n].kind, tokens[covered[n][1]]) for n in ordered], used


@dataclass(frozen=True, slots=True)
class _Words:
    """A text's words, normalised once, and each as its ``_variants``."""

    tokens: list[str]
    forms: list[tuple[str, ...]]


def _words(text: str | None) -> _Words:
    tokens = normalise(text or "")
    return _Words(tokens, [_variants(t) for t in tokens])


def team_of(text: str | None, teams: Mapping[str, Iterable[str]]) -> str | None:
    """The team whose keyword stems (config ``keywords``, every language) cover the most
    words of ``text``; None when none does or two tie (as the flow's classification)."""
    return _team_of(_words(text), teams)


def _team_of(words: _Words, teams: Mapping[str, Iterable[str]], *, keep: bool = True) -> str | None:
    index = _prepare(tuple((team, tuple(stems)) for team, stems in teams.items()))
    covered = _covered(words.forms, index, keep=keep)
    scores = {team: len(covered[team][0]) if team in covered else 0 for team in teams}
    best = max(scores.values(), default=0)
    leaders = [team for team, score in scores.items() if score == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else None


def features(text: str) -> list[Feature]:
    """What the message names: its concepts, then (when fewer than two) its content words;
    at most ``MAX_FEATURES``, services first, then symptoms, then words."""
    return _features(_words(text))


def read(text: str, teams: Mapping[str, Iterable[str]]) -> tuple[list[Feature], str | None]:
    """``features(text)`` and ``team_of(text, teams)`` from one pass over the text."""
    words = _words(text)
    return _features(words), _team_of(words, teams)


def _features(words: _Words, *, keep: bool = True) -> list[Feature]:
    tokens = words.tokens
    concepts, used = _concepts(tokens, words.forms, keep=keep)
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
