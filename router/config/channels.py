"""The ``channels:`` section of config.yaml: Twilio, email, Telegram and web chat settings.

Credentials are ``SecretStr`` and usually ``${VAR}`` references; a channel whose credentials
are missing stays off (``enabled``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, SecretStr, ValidationInfo, field_validator

from router.config.models import Section
from router.config.types import (
    BLANK_IS_NONE,
    Email,
    HostPort,
    Listen,
    OptSecret,
    OptStr,
    OptUrl,
    Port,
    ResolvedPath,
    matching,
)

__all__ = [
    "CallbackConfig",
    "Channels",
    "EmailConfig",
    "EmailRelay",
    "TelegramConfig",
    "TwilioConfig",
    "WebchatConfig",
]


class CallbackConfig(Section):
    # Callback keeping the place: a caller on hold may press 1 to be called back (needs
    # the account SID and http.public_url, as pushed hold does).
    offer: bool = True
    attempts: Annotated[int, Field(ge=1, le=10)] = 3  # tries that ring out before it fails
    retry_s: Annotated[int, Field(ge=1, le=86400)] = 120  # between two tries
    ring_s: Annotated[int, Field(ge=5, le=600)] = 30  # how long a try rings (Twilio's Timeout)
    sms: bool = True  # after the last try, tell the customer by SMS (when SMS is on)


class TwilioConfig(Section):
    account_sid: OptStr = None
    auth_token: OptSecret = None
    api_base_url: OptUrl = None
    trust_proxy: bool = False
    hold_refresh_s: Annotated[int, Field(ge=30, le=60)] = 45
    # push: a claim redirects the caller's call through the REST API (needs the account SID
    # and http.public_url), the hold webhook comes once per hold_refresh_s; poll: the hold
    # looks every hold_poll_s (the fallback when push cannot work).
    hold: Literal["push", "poll"] = "push"
    hold_poll_s: Annotated[int, Field(ge=1, le=30)] = 5
    # New calls wait in a lobby (a short sentence, then pauses of lobby_pause_s, nothing
    # stored) while this process answers lobby_in_flight voice webhooks at once; 0: no lobby.
    # With push the lobby is a line: its first caller is redirected in when there is room
    # (comebacks only every hold_refresh_s).
    lobby_in_flight: Annotated[int, Field(ge=0, le=100_000)] = 100
    lobby_pause_s: Annotated[int, Field(ge=2, le=60)] = 10
    callback: CallbackConfig = CallbackConfig()

    @property
    def enabled(self) -> bool:
        return self.account_sid is not None and self.auth_token is not None


class EmailRelay(Section):
    host: OptStr = None
    port: Port = 25
    username: OptStr = None
    password: OptSecret = None
    starttls: bool = False


class EmailConfig(Section):
    listen: Listen = HostPort("127.0.0.1", 8025)
    addresses: tuple[Email, ...] = ()
    from_address: Email | None = None
    max_size_bytes: PositiveInt = 10 * 1024 * 1024
    relay: EmailRelay = EmailRelay()
    # STARTTLS is offered when both are set (PEM files, relative to this config file).
    tls_cert: Annotated[ResolvedPath | None, BLANK_IS_NONE] = None
    tls_key: Annotated[ResolvedPath | None, BLANK_IS_NONE, Field(validate_default=True)] = None
    # keep: attachment files go under <data_dir>/mail/attachments by content hash; drop:
    # only their name, type and size are kept.
    attachments: Annotated[str, matching("keep|drop", "keep or drop")] = "keep"
    max_attachment_bytes: PositiveInt = 10 * 1024 * 1024
    auto_reply_per_hour: PositiveInt = 5  # automatic replies to one address (loop guard)
    max_connections: PositiveInt = 100  # SMTP sessions at once; 421 past it
    max_connections_per_ip: PositiveInt = 10  # ... from one address

    @field_validator("tls_key")
    @classmethod
    def _cert_with_key(cls, key: Path | None, info: ValidationInfo) -> Path | None:
        if "tls_cert" in info.data and (key is None) != (info.data["tls_cert"] is None):
            raise ValueError("set tls_cert and tls_key together, or neither")
        return key


class TelegramConfig(Section):
    bot_token: OptSecret = None
    secret_token: OptSecret = None
    api_base_url: OptUrl = None

    @field_validator("secret_token")
    @classmethod
    def _token_charset(cls, token: SecretStr | None) -> SecretStr | None:
        # Telegram's own rule for secret_token; the message must not echo the secret.
        value = token.get_secret_value() if token is not None else ""
        if token is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("may hold only A-Z, a-z, 0-9, _ and - (1 to 256 characters)")
        return token

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and self.secret_token is not None


class WebchatConfig(Section):
    max_message_chars: PositiveInt = 2000
    max_messages_per_minute: PositiveInt = 30
    # Per client address (behind http.trusted_proxies): sockets open at once (in each
    # process; one more is closed with code 1013) and new contacts a minute (in the store).
    max_open_per_ip: PositiveInt = 20
    new_contacts_per_minute: PositiveInt = 30
    # Sites (scheme://host[:port]) that may embed /chat or open its websocket besides this
    # server itself; empty: any site may embed it.
    allowed_origins: tuple[
        Annotated[
            str, matching(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", "an origin (https://host)")
        ],
        ...,
    ] = ()


class Channels(Section):
    # Every ingest (webhook, chat message, SMTP DATA) answers within this: past it 503 (the
    # provider retries), a chat error frame asking to resend, or SMTP 451. Under Twilio's
    # 15 s webhook timeout.
    ingest_deadline_s: Annotated[float, Field(gt=0, le=14)] = 5.0
    twilio: TwilioConfig = TwilioConfig()
    email: EmailConfig = EmailConfig()
    telegram: TelegramConfig = TelegramConfig()
    webchat: WebchatConfig = WebchatConfig()
