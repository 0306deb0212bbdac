"""Text matching for flows: keyword classification, language detection, labelled lines.

Matching is by word prefix on normalised text (case folded, diacritics dropped, ``ł`` as
``l``), so one stem covers Polish and Russian inflection: ``faktur`` matches ``fakturze``,
``оплат`` matches ``оплатой``. Hebrew glues one-letter prefixes (ו ה ב ל מ ש כ) to words, so
a Hebrew word also matches with up to two of them stripped: ``בחשבונית`` matches ``חשבונית``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "Classification",
    "Keywords",
    "classify",
    "count_stems",
    "detect_language",
    "find_labelled",
    "normalise",
    "redact_labelled",
    "words",
]

#: Letters NFKD leaves whole, folded by hand (no replacement holds another of them).
_FOLDS = (("ł", "l"), ("Ł", "l"), ("ø", "o"), ("ß", "ss"), ("đ", "d"))
_WORD = re.compile(r"\w+")
_POLISH_LETTERS = re.compile(r"[ąćęłńóśźż]", re.IGNORECASE)
_HEBREW_PREFIXES = frozenset("והבלמשכ")

# Frequent function words: a Latin-script text is "clearly English" when it has several of
# these and fewer Polish ones; Polish has few diacritic-free giveaways, hence the list.
_ENGLISH_WORDS = (
    "the is are my i i'm have has not no and to of for with please hello hi dear you your "
    "it can cannot can't does doesn't don't since from this that was what why how help"
)
_POLISH_WORDS = (
    "nie jest mam mój moja moje się czy jak dzień dobry proszę witam oraz już jeszcze "
    "od do na ze że co to dla mnie przez"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_POLISH = frozenset(_POLISH_WORDS.split())


@functools.cache
def _marks() -> re.Pattern[str]:
    """The combining marks (diacritics, Hebrew points) of the BMP as one character class
    (built on first use): a regex drops them many times faster than a generator."""
    marks = (chr(code) for code in range(0x10000) if unicodedata.combining(chr(code)))
    return re.compile("[" + "".join(map(re.escape, marks)) + "]")


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def normalise(text: str) -> str:
    """Case-fold and drop diacritics and Hebrew points: ``Płatność`` -> ``platnosc``."""
    if not text.isascii():
        for char, plain in _FOLDS:
            if char in text:
                text = text.replace(char, plain)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():
        return decomposed
    if _ASTRAL.search(decomposed):  # marks beyond the BMP too (rare): one by one
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _marks().sub("", decomposed)


def words(text: str) -> list[str]:
    """The normalised words of a text."""
    return _WORD.findall(normalise(text))


def _variants(word: str) -> tuple[str, ...]:
    if not "\u0590" <= word[:1] <= "\u05ff":  # not a Hebrew word
        return (word,)
    found = [word]
    rest = word
    for _ in range(2):
        if len(rest) > 3 and rest[0] in _HEBREW_PREFIXES:
            rest = rest[1:]
            found.append(rest)
        else:
            break
    return tuple(found)


@lru_cache(maxsize=4096)
def _stem_words(stem: str) -> tuple[str, ...]:
    return tuple(words(stem))


#: Words whose match against one list of stems is kept (``Stems.seen``), per list; a
#: word with a digit is never kept (it may be an auth code).
_SEEN_KEPT = 10_000
_DIGIT = re.compile(r"\d")
_SINGLE, _FIRST = 1, 2


@dataclass(frozen=True, slots=True)
class Stems:
    """A list of stems prepared once: one-word stems as one tuple (one ``startswith`` call
    per word), phrases as their normalised words. What a word matched is kept (``seen``):
    the words of messages repeat, and the stems never change."""

    singles: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    firsts: tuple[str, ...]  # the phrases' first words: where a phrase may start
    seen: dict[tuple[str, ...], int] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def _match(self, forms: tuple[str, ...]) -> int:
        """``_SINGLE`` when a one-word stem matches the word, plus ``_FIRST`` when a
        phrase may start at it; kept for the next time the word comes."""
        singles, firsts = self.singles, self.firsts
        found = _SINGLE if singles and any(f.startswith(singles) for f in forms) else 0
        if firsts and any(f.startswith(firsts) for f in forms):
            found |= _FIRST
        if _DIGIT.search(forms[0]):
            return found
        if len(self.seen) >= _SEEN_KEPT:
            self.seen.clear()
        self.seen[forms] = found
        return found

    def count(self, variants: Sequence[tuple[str, ...]]) -> int:
        """How many of the words (each as its ``_variants``) the stems cover."""
        seen = self.seen
        covered: set[int] = set()
        for start, forms in enumerate(variants):
            found = seen.get(forms)
            if found is None:
                found = self._match(forms)
            if found & _SINGLE:
                covered.add(start)
            if not found & _FIRST:
                continue
            for parts in self.phrases:
                end = start + len(parts)
                if end <= len(variants) and all(
                    any(v.startswith(part) for v in variants[start + i])
                    for i, part in enumerate(parts)
                ):
                    covered.update(range(start, end))
        return len(covered)


@lru_cache(maxsize=1024)
def prepare(stems: tuple[str, ...]) -> Stems:
    """The stems prepared for ``Stems.count`` (cached: a flow's lists are few and fixed)."""
    parsed = {_stem_words(stem) for stem in stems}
    singles = tuple(sorted(parts[0] for parts in parsed if len(parts) == 1))
    phrases = tuple(sorted(parts for parts in parsed if len(parts) > 1))
    return Stems(singles, phrases, tuple(sorted({parts[0] for parts in phrases})))


def count_stems(tokens: Sequence[str], stems: Iterable[str]) -> int:
    """How many of the words the stems cover; a phrase stem covers all its words.

    A word counts once however many stems match it (``internet`` listed for two languages,
    ``connect`` and ``connection``), and a two-word phrase beats a single word.
    """
    return prepare(tuple(stems)).count([_variants(token) for token in tokens])


@dataclass(frozen=True, slots=True)
class Keywords:
    """Stems per team and language, and the complaint stems per language; each team's
    stems of every language are prepared once (``Stems``)."""

    teams: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    complaint: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    prepared: Mapping[str, Stems] = field(init=False, repr=False, compare=False)
    prepared_complaint: Stems = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        def every(by_lang: Mapping[str, tuple[str, ...]]) -> Stems:
            return prepare(tuple(s for stems in by_lang.values() for s in stems))

        teams = {team: every(by_lang) for team, by_lang in self.teams.items()}
        object.__setattr__(self, "prepared", teams)
        object.__setattr__(self, "prepared_complaint", every(self.complaint))


@dataclass(frozen=True, slots=True)
class Classification:
    """The team the text names (None when no team or a tie), and whether it complains."""

    team: str | None
    complaint: bool
    scores: Mapping[str, int] = field(default_factory=dict)


def classify(text: str, keywords: Keywords) -> Classification:
    """Score each team by its stems in every language; a unique best score decides."""
    variants = [_variants(token) for token in words(text)]
    scores = {team: stems.count(variants) for team, stems in keywords.prepared.items()}
    best = max(scores.values(), default=0)
    leaders = [team for team, score in scores.items() if score == best]
    team = leaders[0] if best > 0 and len(leaders) == 1 else None
    complaint = keywords.prepared_complaint.count(variants) > 0
    return Classification(team=team, complaint=complaint, scores=scores)


_CYRILLIC_RUNS = re.compile(r"[\u0400-\u04ff]+")
_HEBREW_RUNS = re.compile(r"[\u0590-\u05ff]+")
_TOKEN = re.compile(r"[\w']+")


def _letters_of(runs: re.Pattern[str], text: str) -> int:
    """How many letters of ``text`` are in the script ``runs`` finds."""
    return sum(map(str.isalpha, "".join(runs.findall(text))))


def detect_language(text: str, supported: Sequence[str], default: str) -> str:
    """Cyrillic -> ru, Hebrew script -> he, clear English -> en, Polish -> pl, else default."""
    scripts = {"ru": _letters_of(_CYRILLIC_RUNS, text), "he": _letters_of(_HEBREW_RUNS, text)}
    if any(scripts.values()):
        letters = sum(map(str.isalpha, text))
        for language, count in scripts.items():
            if language in supported and count * 2 >= letters:
                return language
    elif not any(map(str.isalpha, text)):  # no letters at all
        return default
    tokens = _TOKEN.findall(text.casefold())
    english = sum(map(_ENGLISH.__contains__, tokens))
    polish = sum(map(_POLISH.__contains__, tokens))
    if _POLISH_LETTERS.search(text):
        polish += 2
    if "en" in supported and english >= 2 and english > polish:
        return "en"
    if "pl" in supported and polish >= 1 and polish >= english:
        return "pl"
    return default


# A label line: optional quote marks of a reply, the label, ":" or "=" (or a spaced dash),
# then the value.
#: What every labelled line holds: ":" or "=", or a dash (spaced, checked by the pattern).
_ANY_MARK = re.compile("[:=\\-\u2013]")
_LABEL_LINE = re.compile(r"^[\s>]*(?P<head>[^:=\n]+?)\s*(?:[:=]|\s[-\u2013]\s)\s*(?P<value>.*)")


def _label_key(label: str) -> str:
    return " ".join(words(label))


@lru_cache(maxsize=256)
def _label_keys(labels: tuple[str, ...]) -> frozenset[str]:
    """The labels as lines are compared with them, prepared once per list of labels."""
    return frozenset(_label_key(label) for label in labels)


def _labelled_lines(text: str, labels: Iterable[str]) -> list[tuple[int, int, str]]:
    """(line number, where the value starts, the value) of each labelled line."""
    if not _ANY_MARK.search(text):
        return []  # no line can be labelled (most messages)
    wanted = _label_keys(tuple(labels))
    found = []
    for number, line in enumerate(text.splitlines()):
        if not _ANY_MARK.search(line):
            continue  # cannot be labelled: spares the pattern's backtracking
        match = _LABEL_LINE.match(line)
        if match is not None and _label_key(match["head"]) in wanted:
            found.append((number, match.start("value"), match["value"].strip().strip("\"'«»„”.,;")))
    return found


def find_labelled(text: str, labels: Iterable[str]) -> str | None:
    """The value after the first line starting with one of the labels (``Login: jan``)."""
    for _, _, value in _labelled_lines(text, labels):
        if value:
            return value
    return None


def redact_labelled(text: str, labels: Iterable[str]) -> str:
    """The text with the value of every line starting with one of the labels masked."""
    masked = _labelled_lines(text, labels)
    if not masked:
        return text
    lines = text.splitlines(keepends=True)
    for number, start, _ in masked:
        # The whole rest of the line goes: a code typed as "482 913" is still hidden.
        line = lines[number]
        ending = line[len(line.rstrip("\r\n")) :]
        lines[number] = line[:start] + "******" + ending
    return "".join(lines)
