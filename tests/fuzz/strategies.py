"""What the fuzz suite sends: provider input as it comes, and as it should never come."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: Text of every kind: any code point (lone surrogates included), digits, blanks.
text = st.text(st.characters(codec=None), max_size=300) | st.sampled_from(
    ["", " ", "²", "١٢٣", "\x00", "\ud800", "jan.kowalski 482913", "1001", "%", "\u202e"]
)
#: Text a well-formed request can carry (UTF-8 encodable).
utf8_text = st.text(st.characters(codec="utf-8"), max_size=300)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(utf8_text, children, max_size=4)
    ),
    max_leaves=12,
)


def deep(levels: int, opener: str = "[", closer: str = "]") -> str:
    return opener * levels + closer * levels


raw_bodies = st.binary(max_size=600) | st.sampled_from(
    [deep(6000).encode(), deep(100_000).encode(), b"Body=\x80", b"%", b"a=%ZZ&b", b"\xff\xfe"]
)
query_values = st.text(max_size=12) | st.sampled_from(["²", "0", "-1", "99999999999", "1e3"])

SMS_FIELDS = [
    "MessageSid", "SmsMessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MediaUrl0",
    "MediaContentType0", "OptOutType", "FromCountry", "MessageStatus", "ErrorCode",
]  # fmt: skip
VOICE_FIELDS = ["CallSid", "From", "To", "Digits", "CallStatus", "DialCallStatus"]


def forms(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """A form of some of ``names`` (and a stray field now and then), UTF-8 values."""
    keys = st.sampled_from(names) | utf8_text.filter(bool)
    return st.dictionaries(keys, utf8_text | st.sampled_from(["+48500100200", "SM1", "2"]))


def telegram_updates() -> st.SearchStrategy[Any]:
    """Updates shaped like the Bot API's, with any field replaced by any JSON value."""
    base: dict[str, Any] = {
        "message_id": 1,
        "date": 1_795_000_000,
        "chat": {"id": 99, "type": "private"},
        "from": {"id": 99, "is_bot": False, "first_name": "A", "language_code": "pl"},
        "text": "dzień dobry",
    }

    @st.composite
    def update(draw: st.DrawFn) -> Any:
        message = dict(base)
        for name in draw(
            st.lists(
                st.sampled_from(
                    [*base, "caption", "entities", "photo", "location", "sticker", "document"]
                ),
                max_size=4,
            )
        ):
            if draw(st.booleans()):
                message.pop(name, None)
            else:
                message[name] = draw(json_values)
        body: dict[str, Any] = {"update_id": draw(st.integers(1, 2**40) | json_values)}
        body[draw(st.sampled_from(["message", "edited_message", "channel_post"]))] = message
        return body

    return update() | json_values


def chat_frames() -> st.SearchStrategy[str]:
    frames = st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "hello", "typing", "other"]) | json_values},
        optional={
            "id": st.text(max_size=70) | json_values,
            "text": text | json_values,
            "language": text | json_values,
            "session": text | json_values,
        },
    ).map(lambda d: json.dumps(d))
    return (
        frames
        | st.text(max_size=200)
        | st.sampled_from(
            [deep(6000), deep(100, '{"a":', "}"), '{"type":"message","id":"x","text":"\\ud800"}']
        )
    )
