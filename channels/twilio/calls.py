"""Live calls through Twilio's REST API: redirecting one (``Calls/{CallSid}.json``,
``Url``), and placing one (``Calls.json``: the callback to a customer who asked for it).

When an agent claims a caller on hold, the router does not wait for the caller's next hold
webhook: it updates the call now, with the ``<Dial>`` itself (``Twiml``: no webhook back to
the router on the way to the agent) or, when that cannot be prepared, with the hold URL to
fetch again (``Url``), which answers with the ``<Dial>``. twilio-python builds the request;
the API base URL is configurable (``channels.twilio.api_base_url``), so tests and the IVR
simulator stand in for Twilio offline.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import aiohttp
import structlog
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from channels.errors import SendFailed
from channels.twilio.sms_send import AiohttpTwilioClient

__all__ = ["CallControl", "Told"]

log = structlog.get_logger(__name__)


class Told(StrEnum):
    """How an update of a live call went."""

    TOLD = "told"
    GONE = "gone"  # the call is over (404, 21220), or nothing is left to tell it
    FAILED = "failed"  # Twilio could not be told now (network, 429, 5xx): try again later


class CallControl:
    """Live calls on one Twilio account: ``redirect`` (never raises) and ``create``."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.http = AiohttpTwilioClient(timeout_s=timeout_s)
        self._client: Any = Client(account_sid, auth_token, http_client=self.http)
        if api_base_url:
            self._client.api.base_url = api_base_url.rstrip("/")
            self._client.edge = self._client.region = None

    async def redirect(self, call_sid: str, url: str, *, twiml: str | None = None) -> bool:
        """Make the call fetch ``url`` (POST) now, or, given ``twiml``, run that TwiML at
        once (no webhook back); False when Twilio could not be told (the caller's next
        hold refresh still connects them)."""
        return await self.update(call_sid, url, twiml=twiml) is Told.TOLD

    async def update(self, call_sid: str, url: str, *, twiml: str | None = None) -> Told:
        """``redirect``, saying why Twilio was not told: the call is gone, or it failed."""
        try:
            if twiml is not None:
                await self._client.calls(call_sid).update_async(twiml=twiml)
            else:
                await self._client.calls(call_sid).update_async(url=url, method="POST")
        except TwilioRestException as exc:
            # 404 / 21220: the call ended meanwhile; its status callback says so.
            log.warning(
                "voice_redirect_refused", call_sid=call_sid, status=exc.status, code=exc.code
            )
            return Told.GONE if exc.status == 404 or exc.code == 21220 else Told.FAILED
        except (aiohttp.ClientError, TimeoutError, OSError, TwilioException) as exc:
            log.warning("voice_redirect_failed", call_sid=call_sid, error=repr(exc))
            return Told.FAILED
        log.info("voice_redirected", call_sid=call_sid)
        return Told.TOLD

    async def create(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str,
        timeout_s: int,
    ) -> str:
        """Place a call to ``to`` from our number ``from_``: Twilio fetches ``url`` (POST)
        once it is answered and posts how it ended to ``status_callback``; the CallSid.
        Raises ``SendFailed`` (retryable for 429, 5xx and network failures)."""
        try:
            call = await self._client.calls.create_async(
                to=to,
                from_=from_,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                timeout=timeout_s,
            )
        except TwilioRestException as exc:
            code = f" (error {exc.code})" if exc.code else ""
            raise SendFailed(
                "voice",
                f"Twilio answered {exc.status}{code}: {exc.msg}",
                retryable=exc.status == 429 or exc.status >= 500,
            ) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SendFailed("voice", f"Twilio could not be reached: {exc!r}") from exc
        except TwilioException as exc:
            raise SendFailed("voice", f"Twilio's answer could not be read: {exc}") from exc
        log.info("voice_call_placed", call_sid=call.sid)
        return str(call.sid)

    async def aclose(self) -> None:
        await self.http.aclose()
