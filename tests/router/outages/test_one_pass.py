"""A first message is read once (issue 16): its features and team from one pass, each
word's lookups kept per prepared index, and a topic at or under its usual share never
tested; the same decisions as before."""

from __future__ import annotations

import random

from router.outages.lexicon import CONCEPTS
from router.outages.spikes import TOPIC_ALPHA, topic_share, topic_spike
from router.outages.tails import binomial_sf
from router.outages.topics import (
    _concept_index,
    _features,
    _prepare,
    _team_of,
    _words,
    features,
    read,
    team_of,
)

TEAMS = {
    "billing": ["faktur", "płatnoś", "invoice", "счёт", "оплат", "חשבונית", "refund$"],
    "technical": ["internet", "światłowód", "router", "интернет", "אינטרנט", "no signal"],
    "domains_hosting": ["domen", "dns$", "hosting", "домен", "דומיין", "authinfo"],
}


def random_texts(n: int, seed: int) -> list[str]:
    """Lexicon and keyword words, inflected, in four scripts, with digits and codes."""
    rng = random.Random(seed)
    stems = [s.rstrip("$") for c in CONCEPTS.values() for s in c.stems]
    stems += [s.rstrip("$") for keywords in TEAMS.values() for s in keywords]
    vocabulary = [*stems, "Dzień", "dobry", "ב" + "אינטרנט", "Ёлки", "café", "x", "no", "🙂"]
    endings = ["", "", "ami", "ie", "ов", "у", "123"]
    texts = []
    for _ in range(n):
        words = [rng.choice(vocabulary) + rng.choice(endings) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.3:
            words.insert(rng.randint(0, len(words)), str(rng.randint(0, 999_999)))
        texts.append(rng.choice([" ", ", ", "\n"]).join(words))
    return texts


def forget() -> None:
    _concept_index().seen.clear()
    _prepare(tuple((team, tuple(stems)) for team, stems in TEAMS.items())).seen.clear()


def test_kept_lookups_decide_as_lookups_made_afresh() -> None:
    texts = random_texts(3000, seed=16)
    forget()
    afresh = [
        (_features(_words(t), keep=False), _team_of(_words(t), TEAMS, keep=False)) for t in texts
    ]
    assert not _concept_index().seen  # nothing kept: every lookup was made afresh
    first = [read(t, TEAMS) for t in texts]  # fills the memo
    assert _concept_index().seen
    again = [read(t, TEAMS) for t in texts]  # mostly from it
    assert afresh == first == again
    assert any(found for found, _ in afresh) and {team for _, team in afresh} > {None}


def test_one_pass_reads_what_features_and_team_of_read() -> None:
    for text in random_texts(500, seed=3):
        assert read(text, TEAMS) == (features(text), team_of(text, TEAMS))


def test_no_word_with_a_digit_is_kept() -> None:
    forget()
    read("kod 482913 internet nie działa 5g a1b2", TEAMS)
    kept = {form for forms in _concept_index().seen for form in forms}
    assert "internet" in kept
    assert not any(ch.isdigit() for form in kept for ch in form)


def test_a_topic_at_or_under_its_usual_share_is_never_a_spike() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        all_now = rng.randint(0, 400)
        topic_now = rng.randint(0, all_now)
        all_days = all_now + rng.randint(0, 5000)
        topic_days = topic_now + rng.randint(0, all_days - all_now)
        got = topic_spike(topic_now, all_now, topic_days, all_days)
        share = topic_share(topic_days, all_days, topic_now, all_now)
        p = binomial_sf(topic_now, max(all_now, topic_now), share)
        assert (got is not None) == (topic_now >= 5 and p < TOPIC_ALPHA)
        if got is not None:
            assert got.p_value == p
