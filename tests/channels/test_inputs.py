"""Reading client input that could never be stored (channels.inputs)."""

from __future__ import annotations

import pytest

from channels.inputs import BadInput, load_json, parse_form, scrub, scrubbed


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{nope", "not JSON"),
        ("[" * 6000 + "]" * 6000, "nested deeper than 32"),
        ("[" * 40 + "]" * 40, "nested deeper than 32"),
        ('{"text": "\\ud800"}', "lone surrogate"),
        ('{"\\udfff": 1}', "lone surrogate"),
    ],
)
def test_json_that_cannot_be_taken_is_refused_with_a_reason(raw: bytes | str, reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        load_json(raw)


def test_json_within_the_limits_is_read() -> None:
    assert load_json(b'{"a": [1, {"b": "\\u00f3"}]}') == {"a": [1, {"b": "ó"}]}
    assert load_json("[" * 32 + "]" * 32) is not None


def test_forms_must_be_utf8() -> None:
    assert parse_form(b"Body=%C5%BC%C3%B3%C5%82w+x&Empty=") == [("Body", "żółw x"), ("Empty", "")]
    for raw in (b"Body=%80", b"Body=\x80", b"%ED%A0%80=1"):
        with pytest.raises(BadInput, match="not URL-encoded UTF-8"):
            parse_form(raw)


def test_scrub_replaces_lone_surrogates_only() -> None:
    assert scrub("a\ud800b") == "a\ufffdb"
    assert scrub("żółw 🐢") == "żółw 🐢"
    assert scrubbed({"k\udc80": ["x\ud800", 1]}) == {"k\ufffd": ["x\ufffd", 1]}
