"""Keyword matching, language detection and labelled lines."""

from __future__ import annotations

import random

import pytest

from ivr import FlowBook, detect_language
from ivr.classify import (
    Keywords,
    _variants,
    classify,
    count_stems,
    find_labelled,
    normalise,
    redact_labelled,
    words,
)

SUPPORTED = ("pl", "en", "ru", "he")


def test_normalise_folds_case_diacritics_and_hebrew_points() -> None:
    assert normalise("Płatność ZA Łącze") == "platnosc za lacze"
    assert normalise("Счёт ЙОД") == "счет иод"
    assert normalise("שָׁלוֹם") == "שלום"


@pytest.mark.parametrize(
    ("text", "stem"),
    [
        ("Nie zgadza się kwota na fakturze", "faktur"),
        ("Problem z płatnością kartą", "płatnoś"),
        ("PLATNOSC nie przeszla", "płatnoś"),
        ("Проблема с оплатой", "оплат"),
        ("Верните деньги", "деньг"),
        ("בעיה בחשבונית", "חשבונית"),
        ("ובחשבונית", "חשבונית"),
    ],
)
def test_stems_match_inflected_words(text: str, stem: str) -> None:
    assert count_stems(words(text), [stem]) == 1


def test_stem_matches_only_word_starts() -> None:
    assert count_stems(words("mam konto firmowe"), ["faktur"]) == 0
    assert count_stems(words("nie mam pieniędzy"), ["dzy"]) == 0


def test_phrase_beats_a_single_word() -> None:
    keywords = Keywords(
        teams={"hosting": {"pl": ("stron internet",)}, "technical": {"pl": ("internet",)}}
    )
    assert classify("Strona internetowa nie działa", keywords).team == "hosting"


def test_a_word_counts_once_for_a_team() -> None:
    keywords = Keywords(
        teams={"a": {"pl": ("internet",), "en": ("internet", "inter")}, "b": {"pl": ("faktur",)}}
    )
    found = classify("faktura internet", keywords)
    assert found.scores == {"a": 1, "b": 1}
    assert found.team is None


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("Chcę złożyć reklamację", True),
        ("to jest skarga", True),
        ("I want to complain", True),
        ("Это официальная претензия", True),
        ("Пишу жалобу", True),
        ("אני רוצה להתלונן", True),
        ("Reklama w telewizji", False),
        ("Пожалуйста, помогите", False),
    ],
)
def test_complaint_keywords(book: FlowBook, text: str, complaint: bool) -> None:
    assert classify(text, book.keywords).complaint is complaint


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Не работает интернет", "ru"),
        ("האינטרנט לא עובד", "he"),
        ("Hello, my internet is not working", "en"),
        ("Dzień dobry, nie działa mi internet", "pl"),
        ("Nie mam internetu od rana", "pl"),
        ("router", "pl"),
        ("", "pl"),
        ("12345", "pl"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text, SUPPORTED, "pl") == language


def test_detect_language_keeps_to_supported_languages() -> None:
    assert detect_language("Не работает интернет", ("pl", "en"), "en") == "en"
    assert detect_language("Dzień dobry, mam problem", ("en", "ru"), "ru") == "ru"


def test_find_labelled_reads_lenient_label_lines() -> None:
    text = "Dzień dobry\n> Login : jan.kowalski\nKod autoryzacyjny = 482 913\nKod: x"
    assert find_labelled(text, ["login"]) == "jan.kowalski"
    assert find_labelled(text, ["Kod autoryzacyjny", "Kod"]) == "482 913"
    assert find_labelled(text, ["hasło"]) is None
    assert find_labelled("Login:\n", ["Login"]) is None


def test_redact_labelled_masks_the_whole_value() -> None:
    text = "Login: jan\r\nKod: 482 913\r\nKod rabatowy: ABC\r\n"
    assert redact_labelled(text, ["kod"]) == "Login: jan\r\nKod: ******\r\nKod rabatowy: ABC\r\n"
    assert redact_labelled(text, []) == text


def _reference_count(tokens: list[str], stems: list[str]) -> int:
    """count_stems as first written: every stem tried at every position."""
    variants = [_variants(t) for t in tokens]
    covered: set[int] = set()
    for stem in stems:
        parts = words(stem)
        for start in range(len(tokens) - len(parts) + 1):
            if all(any(v.startswith(p) for v in variants[start + i]) for i, p in enumerate(parts)):
                covered.update(range(start, start + len(parts)))
    return len(covered)


def test_prepared_stems_count_what_trying_every_stem_everywhere_counts(book: FlowBook) -> None:
    rng = random.Random(7)
    stems = [s for by_lang in book.keywords.teams.values() for v in by_lang.values() for s in v]
    vocabulary = [w for stem in stems for w in words(stem)] + ["nie", "the", "xyz", "ב", "дом"]
    vocabulary += [w + "ami" for w in vocabulary[:40]] + ["ב" + w for w in vocabulary[:10]]
    for _ in range(300):
        tokens = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
        chosen = rng.sample(stems, rng.randint(1, 30))
        assert count_stems(tokens, chosen) == _reference_count(tokens, chosen), (tokens, chosen)
