"""X-Twilio-Signature: checked on every Twilio webhook, and computed by the IVR simulator.

Twilio signs the full URL it requested plus the POSTed form fields with the account's auth
token. Behind a proxy the URL the app sees differs from the public one, so the URL is the
configured public URL + path, or, when none is configured, the request's own URL (the
proxy's X-Forwarded-Proto/Host are honoured only when ``trust_proxy`` is set).

The body is read as Twilio sends it, ``application/x-www-form-urlencoded`` UTF-8, and
nothing else: a request without the header is refused before its body is read, another
content type (multipart) before it is parsed, and fields that are not UTF-8 with 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlparse

from aiohttp import web
from twilio.request_validator import RequestValidator, add_port, remove_port

from channels.inputs import BadInput, parse_form
from channels.webhooks import refuse

__all__ = ["FORM_TYPE", "HEADER", "TwilioSignature", "sign"]

HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"


def sign(token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send for a POST of ``params`` to ``url``."""
    return str(RequestValidator(token).compute_signature(url, dict(params)))


class TwilioSignature:
    """Validates Twilio webhooks for one auth token."""

    def __init__(self, token: str, *, public_url: str | None = None, trust_proxy: bool = False):
        if not token:
            raise ValueError("the Twilio auth token is empty; set TWILIO_AUTH_TOKEN")
        self._token = token.encode()
        self._public_url = public_url.rstrip("/") if public_url else None
        self._trust_proxy = trust_proxy

    def url_of(self, request: web.Request) -> str:
        """The URL Twilio signed for this request."""
        if self._public_url is not None:
            return self._public_url + request.rel_url.path_qs
        if self._trust_proxy:
            proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0]
            host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0]
            return f"{proto.strip()}://{host.strip()}{request.rel_url.path_qs}"
        return str(request.url)

    async def signed_form(self, request: web.Request) -> dict[str, str] | web.Response:
        """The POSTed form when Twilio signed it, else the refusal to answer with: 403
        unsigned or badly signed, 415 not a form, 400 not UTF-8 (reading a body over the
        app's limit raises 413)."""
        if not request.headers.get(HEADER):
            return refuse(403, f"the {HEADER} header is missing")
        if request.content_type != FORM_TYPE:
            return refuse(
                415, f"Twilio posts {FORM_TYPE}, not {request.content_type[:64]!r}; send a form"
            )
        try:
            form = dict(parse_form(await request.read()))
        except BadInput as exc:
            return refuse(400, str(exc))
        if not self.valid(request, form):
            return refuse(403, f"the {HEADER} does not match the request")
        return form

    def valid(self, request: web.Request, form: Mapping[str, str]) -> bool:
        signature = request.headers.get(HEADER, "")
        if not signature:
            return False
        return self.matches(self.url_of(request), form, signature)

    def matches(self, url: str, form: Mapping[str, str], signature: str) -> bool:
        """Twilio's algorithm (``RequestValidator.validate`` for a form POST): HMAC-SHA1 of
        the URL and the sorted fields, the URL without its port or with the default one.
        The URL as it came is tried first: one HMAC for a good request, where ``validate``
        always makes two."""
        fields = "".join(name + form[name] for name in sorted(form)).encode()
        given = signature.encode()
        parsed = urlparse(url)
        variants = (add_port(parsed), remove_port(parsed))
        for candidate in variants if parsed.port else variants[::-1]:
            mac = hmac.new(self._token, candidate.encode() + fields, hashlib.sha1)
            if hmac.compare_digest(base64.b64encode(mac.digest()), given):
                return True
        return False
