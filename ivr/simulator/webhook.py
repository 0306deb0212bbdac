"""A simulated call's side of HTTP: the form fields Twilio posts, the X-Twilio-Signature, a
webhook's TwiML fetched and parsed, and the status callback at the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from ivr.errors import CallFailed, TwimlError
from ivr.simulator.models import CallResult, CallSpec, Signer
from ivr.simulator.twiml import Verb, parse

__all__ = ["SIGNATURE_HEADER", "Fetch", "Webhooks"]

SIGNATURE_HEADER = "X-Twilio-Signature"
_HINTS = {
    403: "the signature was refused: the simulator must sign with the server's auth token "
    "(TWILIO_AUTH_TOKEN, or the demo's var/demo-twilio-auth-token) and its public URL",
    404: "no voice webhook there: is the voice channel on (TWILIO_AUTH_TOKEN set, or "
    "`switchboard run --demo`) and is --url right?",
    503: "the router's store is unavailable: Twilio does not retry a call's webhook, the "
    "caller hears an application error",
}

#: ``event(type, **data)``: a line of the call's transcript.
Recorder = Callable[..., None]


@dataclass(frozen=True, slots=True)
class Fetch:
    """The next webhook to fetch: its URL, method and the fields added to the form."""

    url: str
    method: str
    extra: Mapping[str, str]


class Webhooks:
    """The webhooks of one call, as Twilio sends them."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        spec: CallSpec,
        result: CallResult,
        *,
        sign: Signer | None,
        event: Recorder,
    ) -> None:
        self._session = session
        self._spec = spec
        self._result = result
        self._sign = sign
        self._event = event
        self._requests = 0
        # As Twilio: a connection is its own at once (no wait for one of a pool is counted,
        # the caller's own session may bound its pool), then 5 s to connect and 15 s for
        # the answer (``CallSpec.connect_timeout_s``, ``answer_timeout_s``).
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=spec.connect_timeout_s,
            sock_read=spec.answer_timeout_s,
        )

    def form(self, extra: Mapping[str, str]) -> dict[str, str]:
        spec = self._spec
        return {
            "AccountSid": spec.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": spec.call_sid,
            "CallStatus": "in-progress",
            "Called": spec.to_number,
            "Caller": spec.from_number,
            "Direction": spec.direction,
            "From": spec.from_number,
            "To": spec.to_number,
            **extra,
        }

    def signed(self, url: str, form: Mapping[str, str]) -> dict[str, str]:
        if self._sign is None:
            return {}
        base = self._spec.signed_base
        if base:
            parts = urlsplit(url)
            url = base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        return {SIGNATURE_HEADER: self._sign(url, form)}

    async def request(self, fetch: Fetch) -> tuple[Verb, ...]:
        """The TwiML of one webhook, parsed; CallFailed for what Twilio would give up on."""
        self._requests += 1
        if self._requests > self._spec.max_requests:
            raise CallFailed(
                f"over {self._spec.max_requests} webhook requests in one call; "
                "is the IVR redirecting in a loop?"
            )
        form = self.form(fetch.extra)
        url, data = fetch.url, form
        if fetch.method == "GET":
            url, data = f"{fetch.url}{'&' if '?' in fetch.url else '?'}{urlencode(form)}", {}
        headers = self.signed(url, data)
        event: dict[str, Any] = {"method": fetch.method, "url": url, "form": form}
        start = time.perf_counter()
        try:
            async with self._session.request(
                fetch.method, url, data=data or None, headers=headers, timeout=self._timeout
            ) as resp:
                body = await resp.text()
                status = resp.status
        except aiohttp.ServerTimeoutError as exc:
            self._event("request", **event, status=None)
            spec = self._spec
            raise CallFailed(
                f"{fetch.method} {urlsplit(url).path} was not answered in time ({exc}): Twilio "
                f"gives up on a webhook after {spec.answer_timeout_s:g} s "
                f"({spec.connect_timeout_s:g} s to connect) and the caller hears an "
                "application error"
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._event("request", **event, status=None)
            raise CallFailed(f"{fetch.method} {url} failed: {exc or type(exc).__name__}") from exc
        latency_ms = (time.perf_counter() - start) * 1000
        self._result.latencies_ms.append(latency_ms)
        self._event("request", **event, status=status, latency_ms=round(latency_ms, 3), twiml=body)
        if status != 200:
            hint = _HINTS.get(status, "")
            raise CallFailed(
                f"{fetch.method} {urlsplit(url).path} answered HTTP {status}: "
                f"{body.strip()[:200]}" + (f" ({hint})" if hint else "")
            )
        try:
            return parse(body)
        except TwimlError as exc:
            raise CallFailed(f"{urlsplit(url).path} answered bad TwiML: {exc}") from None

    async def status_callback(self) -> None:
        """``CallStatus=completed``, as Twilio posts it when the call is over."""
        spec = self._spec
        url = spec.status_url or spec.url.rstrip("/") + spec.status_path
        form = self.form(
            {
                "CallStatus": "completed",
                "CallDuration": str(int(self._result.duration_s)),
                "CallbackSource": "call-progress-events",
            }
        )
        try:
            async with self._session.post(
                url, data=form, headers=self.signed(url, form), timeout=self._timeout
            ) as r:
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._event("status_callback", url=url, form=form, status=None, error=str(exc))
            return
        self._event("status_callback", url=url, form=form, status=status)
