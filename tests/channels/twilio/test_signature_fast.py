"""Our X-Twilio-Signature check (one HMAC for a good request) says what twilio's
RequestValidator.validate says, on random requests, good and forged."""

from __future__ import annotations

import random
import string
from urllib.parse import urlparse

from twilio.request_validator import RequestValidator, add_port, remove_port

from channels.twilio.auth import TwilioSignature

TOKEN = "0a" * 16
_CHARS = string.ascii_letters + string.digits + " +-_.:/?&=%#żółćęśąźńЖж€😀"


def _text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, most)))


def _url(rng: random.Random) -> str:
    scheme = rng.choice(("http", "https"))
    host = rng.choice(("example.com", "127.0.0.1", "sb.example.org"))
    port = rng.choice(("", ":80", ":443", ":8080"))
    query = rng.choice(("", "?n=1", "?w=0&timeout=1", "?x=%C5%BC"))
    return f"{scheme}://{host}{port}/twilio/{rng.choice(('sms', 'voice/step'))}{query}"


def test_the_check_agrees_with_twilios_validator_on_random_requests() -> None:
    rng = random.Random(5)
    twilio = RequestValidator(TOKEN)
    ours = TwilioSignature(TOKEN)
    agreed = {True: 0, False: 0}
    for _ in range(2000):
        url = _url(rng)
        form = {_text(rng, 12) or "Body": _text(rng, 40) for _ in range(rng.randint(0, 8))}
        parsed = urlparse(url)
        signed_url = rng.choice((url, add_port(parsed), remove_port(parsed), url + "x"))
        signature = twilio.compute_signature(signed_url, form)
        if rng.random() < 0.2:
            signature = rng.choice((signature[:-2] + "AA", "", _text(rng, 28), signature + " "))
        if rng.random() < 0.1 and form:
            form[next(iter(form))] += "!"  # the body changed after signing
        expected = twilio.validate(url, form, signature)
        assert ours.matches(url, form, signature) == expected, (url, signed_url, form)
        agreed[expected] += 1
    assert agreed[True] > 500 and agreed[False] > 300  # both outcomes well covered
