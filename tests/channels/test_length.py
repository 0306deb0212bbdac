"""Provider length limits: prompts packed into few messages, an over-long reply refused."""

from __future__ import annotations

import pytest

from channels.errors import SendFailed
from channels.length import check_length, pack


def test_pack_joins_texts_while_they_fit_and_cuts_an_over_long_one() -> None:
    assert pack(["a", "b"], limit=8, separator="\n") == ["a\nb"]
    assert pack(["a", "b"], limit=8, separator="\n\n") == ["a\n\nb"]
    assert pack(["a" * 6, "b"], limit=8, separator="\n") == ["a" * 6 + "\nb"]
    assert pack(["a" * 6, "b" * 3], limit=8, separator="\n") == ["a" * 6, "b" * 3]
    assert pack(["a" * 10, "b"], limit=4, separator="\n") == ["aaaa", "aaaa", "aa\nb"]
    assert pack([], limit=4, separator="\n") == []


def test_check_length_refuses_for_good_and_names_the_unit() -> None:
    check_length("sms", "x" * 160, limit=160, one_message="an SMS")
    with pytest.raises(SendFailed, match="161 characters; an SMS takes at most 160") as caught:
        check_length("sms", "x" * 161, limit=160, one_message="an SMS")
    assert caught.value.channel == "sms" and not caught.value.retryable
