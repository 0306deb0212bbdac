"""What the intake works out from a mail's text, and what it keeps of it to do that faster:
the classifier remembers the words it has matched, never one with a digit (an auth code
may be one), and the text is read the same with marks and letters beyond the BMP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr import Keywords, detect_language
from ivr.classify import Stems, classify, normalise
from tests.channels.email.support import MailDesk, mail_desk, make_mail
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory"]


@pytest.fixture
async def desk(make_store: Any, clock: FakeClock, tmp_path: Path) -> AsyncIterator[MailDesk]:
    async with mail_desk(await make_store(clock), clock, tmp_path, relay=False) as d:
        yield d


def kept_words(keywords: Keywords) -> set[str]:
    lists: list[Stems] = [*keywords.prepared.values(), keywords.prepared_complaint]
    return {form for stems in lists for forms in stems.seen for form in forms}


async def test_the_classifier_keeps_the_words_it_matched_but_none_with_a_digit(
    desk: MailDesk,
) -> None:
    body = "Router nie działa.\nLogin: jan.kowalski\nKod: 482913\nDrugi kod 73 91 55, k0d 739155\n"
    assert (await desk.send(make_mail(body=body)))[0] == 250
    [contact] = await desk.contacts()
    assert contact.team == "technical"
    kept = kept_words(desk.ctx.service.engine.book.keywords)
    assert {"router", "dziala"} <= kept
    assert not any(char.isdigit() for word in kept for char in word)


def test_a_word_is_classified_the_same_the_second_time() -> None:
    keywords = Keywords(teams={"billing": {"pl": ("faktur",)}, "technical": {"pl": ("router",)}})
    text = "Faktura za router, faktura 12345"
    first = classify(text, keywords)
    assert first.team == "billing" and dict(first.scores) == {"billing": 2, "technical": 1}
    assert classify(text, keywords) == first


def test_marks_are_dropped_in_and_beyond_the_basic_plane() -> None:
    assert normalise("Płatność ZA Łącze") == "platnosc za lacze"
    # A combining stem is dropped; 𝔘 is folded to U (NFKD after the case fold, as ever).
    assert normalise("x\U0001d165y 🙂 \U0001d518") == "xy 🙂 U"
    assert normalise("Straße øre đak") == "strasse ore dak"
    assert detect_language("🙂 Не работает интернет 🙂", ("pl", "en", "ru"), "pl") == "ru"
    assert detect_language("🙂 123 !", ("pl", "en"), "en") == "en"  # no letters: the default
