"""The topic normaliser: one topic across channels' wording and the shipped languages."""

from __future__ import annotations

import random

import pytest

from router.outages.lexicon import CONCEPTS, LANGUAGES
from router.outages.topics import (
    _covered,
    _parse,
    _part_matches,
    _prepare,
    _variants,
    announcement,
    features,
    normalise,
    team_of,
    topics_of,
)

INTERNET_DOWN = [
    "nie działa internet",
    "no internet",
    "не работает интернет",
    "Awaria światłowodu",
    "NIE DZIAŁA INTERNET!!!",
    "Internet nie działa od rana, router miga na czerwono",
    "brak internetu",
    "Нет интернета с утра",
    "אין אינטרנט",
    "my internet is down",
    "Internet doesn't work",
    "światłowód padł",
]


@pytest.mark.parametrize("text", INTERNET_DOWN)
def test_one_outage_is_one_topic_in_every_language(text: str) -> None:
    assert "internet+outage" in topics_of(text)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("internet bardzo wolno działa", "internet+slow"),
        ("интернет тормозит", "internet+slow"),
        ("TV not working", "tv+outage"),
        ("telewizja nie działa", "tv+outage"),
        ("poczta nie działa", "email+outage"),
        ("сайт не работает", "website+outage"),
    ],
)
def test_services_and_symptoms_make_the_topic(text: str, topic: str) -> None:
    assert topic in topics_of(text)


def test_short_stems_match_whole_words_only() -> None:
    assert topics_of("download the invoice now") == topics_of("download invoice")
    assert "internet+outage" not in topics_of("now the internet works again, thanks")


def test_other_words_make_topics_when_the_lexicon_knows_too_little() -> None:
    a = topics_of("Allegro nie przyjmuje płatności")
    b = topics_of("allegro: płatność nie przechodzi")
    assert "payments+allegr" in a & b


def test_greetings_numbers_and_empty_texts_have_no_topic() -> None:
    assert topics_of("") == frozenset()
    assert topics_of(None) == frozenset()
    assert topics_of("Dzień dobry, 482913") == frozenset()


def test_a_message_keeps_at_most_four_features() -> None:
    found = features("alpha bravo charlie delta echo foxtrot golf")
    assert len(found) == 4
    assert len(topics_of("alpha bravo charlie delta echo foxtrot golf")) == 6


def test_team_of_uses_the_desks_keywords_and_refuses_ties() -> None:
    teams = {"billing": ["faktur", "płatnoś"], "technical": ["internet", "światłowód"]}
    assert team_of("Awaria światłowodu", teams) == "technical"
    assert team_of("faktura za internet", teams) is None  # one each: a tie
    assert team_of("", teams) is None


def test_the_announcement_is_suggested_in_every_shipped_language() -> None:
    texts = announcement("internet+outage", team_name={})
    assert set(texts) == set(LANGUAGES)
    assert texts["pl"] == "Internet nie działa u części klientów"
    assert texts["en"] == "Internet access is down for some customers"
    assert texts["ru"].startswith("Интернет не работает")
    words = announcement("payments+allegr", team_name={}, words={"allegr": "allegro"})
    assert "allegro" in words["en"] and "payment system" in words["en"]
    rate = announcement(None, team_name={"pl": "Rozliczenia", "en": "Billing"})
    assert "Rozliczenia" in rate["pl"] and "Billing" in rate["en"] and "Billing" in rate["he"]


def _reference_covered(tokens: list[str], stems: list[str]) -> tuple[set[int], int]:
    """What the stems cover tried one stem at every position, as first written."""
    forms = [_variants(t) for t in tokens]
    covered: set[int] = set()
    first = len(forms)
    for parsed in (p for p in map(_parse, stems) if p is not None):
        n = len(parsed.parts)
        for start in range(len(forms) - n + 1):
            if all(
                _part_matches(forms[start + i], part, exact=parsed.exact or len(part) <= 2)
                for i, part in enumerate(parsed.parts)
            ):
                covered.update(range(start, start + n))
                first = min(first, start)
    return covered, first


def test_prepared_stems_cover_what_trying_each_stem_everywhere_covers() -> None:
    rng = random.Random(11)
    stems = [s for concept in CONCEPTS.values() for s in concept.stems]
    vocabulary = [w for s in stems for w in normalise(s.rstrip("$"))] + ["dom", "xyz", "nie"]
    vocabulary += [w + "ami" for w in vocabulary[:60]] + ["ב" + w for w in vocabulary[:10]]
    for _ in range(300):
        tokens = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
        chosen = rng.sample(stems, rng.randint(1, 40))
        forms = [_variants(t) for t in tokens]
        index = _prepare((("chosen", tuple(chosen)),))
        got = _covered(forms, index).get("chosen", (set(), len(forms)))
        assert got == _reference_covered(tokens, chosen), (tokens, chosen)
