"""Agent replies by SMS: twilio's REST Client over aiohttp, its API base URL configurable.

twilio-python builds the request (``/2010-04-01/Accounts/{sid}/Messages.json``) and parses
the answer; ``AiohttpTwilioClient`` carries it on the running loop with a timeout (the
library's own async client has none). Tests point ``api_base_url`` at a local server.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import Reply
from channels.errors import SendFailed
from channels.length import check_length
from queues import Channel

__all__ = ["MAX_SMS_CHARS", "AiohttpTwilioClient", "SmsOutbox"]

#: Twilio refuses a longer body (error 21617); longer replies are refused here, clearly.
MAX_SMS_CHARS = 1600


class AiohttpTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """twilio's async HTTP client contract on one aiohttp session, with a total timeout."""

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), True, timeout_s)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's HttpClient signature
        allow_redirects: bool = False,
    ) -> Response:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        form = [
            (key, str(item))
            for key, value in (data or {}).items()
            for item in (value if isinstance(value, list) else [value])
        ]
        query = {key: str(value) for key, value in (params or {}).items()}
        headers = dict(headers or {})
        if auth:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        async with self._session.request(
            method,
            url,
            params=query or None,
            data=form or None,
            headers=headers,
            allow_redirects=allow_redirects,
            timeout=aiohttp.ClientTimeout(total=timeout) if timeout else self._timeout,
        ) as response:
            return Response(response.status, await response.text(), response.headers)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class SmsOutbox:
    """Sends SMS through Twilio's Messages API; returns the MessageSid.

    The reply goes out from the number the customer wrote to (``twilio_to`` in the
    contact's meta). 5xx, 429 and network failures are retryable; other 4xx (an invalid
    number, a customer who opted out) are not.
    """

    channel = Channel.SMS

    def __init__(
        self,
        *,
        account_sid: str | None,
        auth_token: str,
        api_base_url: str | None = None,
        status_callback_url: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._account_sid = account_sid
        self._status_callback_url = status_callback_url
        self.http = AiohttpTwilioClient(timeout_s=timeout_s)
        self._client: Any = None
        if account_sid:
            self._client = Client(account_sid, auth_token, http_client=self.http)
            if api_base_url:
                self._client.api.base_url = api_base_url.rstrip("/")
                # TWILIO_EDGE / TWILIO_REGION would rewrite the host of the configured URL.
                self._client.edge = self._client.region = None

    async def send(self, reply: Reply) -> str:
        if self._client is None:
            raise SendFailed(
                "sms",
                "TWILIO_ACCOUNT_SID is not set, so SMS replies cannot be sent; set it and restart",
                retryable=False,
            )
        sender = reply.meta.get("twilio_to")
        if not sender:
            raise SendFailed(
                "sms", "the contact has no Twilio number to reply from", retryable=False
            )
        check_length("sms", reply.text, limit=MAX_SMS_CHARS, one_message="an SMS")
        callback = self._status_callback_url or reply.meta.get("status_callback")
        try:
            message = await self._client.messages.create_async(
                to=reply.address, from_=str(sender), body=reply.text, status_callback=callback
            )
        except TwilioRestException as exc:
            code = f" (error {exc.code})" if exc.code else ""
            raise SendFailed(
                "sms",
                f"Twilio answered {exc.status}{code}: {exc.msg}",
                retryable=exc.status == 429 or exc.status >= 500,
            ) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SendFailed("sms", f"Twilio could not be reached: {exc!r}") from exc
        except TwilioException as exc:
            raise SendFailed("sms", f"Twilio's answer could not be read: {exc}") from exc
        return str(message.sid)

    async def aclose(self) -> None:
        await self.http.aclose()
