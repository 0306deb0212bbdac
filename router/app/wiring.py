"""Which channel adapters run: built from the config and the environment's credentials."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import structlog

from channels import ChannelAdapter

if TYPE_CHECKING:
    from channels.twilio import Callbacks
from router.http import Context

__all__ = [
    "default_adapters",
    "email_adapter",
    "sms_adapter",
    "telegram_adapter",
    "voice_adapter",
    "voice_callbacks",
    "webchat_adapter",
]

log = structlog.get_logger(__name__)


def default_adapters(
    env: Mapping[str, str], *, demo: bool = False
) -> Callable[[Context], Sequence[ChannelAdapter]]:
    """The factory ``create_app`` uses: every channel whose credentials are present.

    A channel without credentials says so at start and stays off; unsigned webhooks are
    never accepted. With ``demo`` the missing webhook secrets are generated once under the
    data dir (``router.app.demo.demo_secret``), so the demo and the simulator work out of the box.
    """

    def build(ctx: Context) -> Sequence[ChannelAdapter]:
        adapters: list[ChannelAdapter] = []
        adapters.append(webchat_adapter(ctx, env))
        adapters.extend(filter(None, [sms_adapter(ctx, env, demo=demo)]))
        adapters.extend(filter(None, [telegram_adapter(ctx, env, demo=demo)]))
        adapters.extend(filter(None, [voice_adapter(ctx, env, demo=demo)]))
        adapters.extend(filter(None, [email_adapter(ctx, env)]))
        return adapters

    return build


def webchat_adapter(
    ctx: Context, env: Mapping[str, str], *, queue_update_s: float = 30.0
) -> ChannelAdapter:
    """The web chat: always on (it needs no provider credentials, only the server key).

    ``queue_update_s``: how often every waiting chat's position is looked at even without
    news of its queue moving (positions are pushed when a queue moves; tests: less).
    """
    import hashlib
    import hmac

    from channels import ClientAddresses
    from channels.webchat import WebchatAdapter
    from queues import Message
    from router.identity import load_secret

    settings = ctx.config.channels.webchat
    # Session tokens are signed with a key of their own, derived from the server key.
    key = hmac.new(
        load_secret(env, ctx.config.data_path), b"switchboard webchat sessions", hashlib.sha256
    ).digest()

    async def history(contact_id: str) -> Sequence[Message]:
        return (await ctx.store.get_contact(contact_id)).messages

    return WebchatAdapter(
        ctx.service,
        pubsub=ctx.store,
        history=history,
        secret=key,
        languages=ctx.config.languages.supported,
        max_message_chars=settings.max_message_chars,
        max_messages_per_minute=settings.max_messages_per_minute,
        allowed_origins=settings.allowed_origins,
        queue_update_s=queue_update_s,
        clock=ctx.clock,
        clients=ClientAddresses(ctx.config.http.trusted_proxies),
        max_open_per_ip=settings.max_open_per_ip,
        new_contacts_per_minute=settings.new_contacts_per_minute,
        deadline_s=ctx.config.channels.ingest_deadline_s,
    )


def sms_adapter(
    ctx: Context, env: Mapping[str, str], *, demo: bool = False
) -> ChannelAdapter | None:
    """SMS through Twilio: on with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.

    With ``demo`` a missing auth token is generated (the one voice uses, so the simulator
    signs with it); without an account SID the webhook still takes messages, and an agent's
    reply fails saying why.
    """
    from channels.twilio import SmsAdapter
    from router.app.demo import twilio_auth_token

    settings = ctx.config.channels.twilio
    token = twilio_auth_token(ctx.config, env, demo=demo)
    sid = settings.account_sid or env.get("TWILIO_ACCOUNT_SID") or None
    if token is None or (sid is None and not demo):
        missing = [
            n for n, v in (("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token)) if not v
        ]
        log.info("channel_off", channel="sms", reason=f"{' and '.join(missing)} not set")
        return None
    if sid is None:
        log.info("sms_replies_off", reason="TWILIO_ACCOUNT_SID not set; agent replies fail")
    public_url = ctx.config.http.public_url
    return SmsAdapter(
        ctx.service,
        auth_token=token,
        account_sid=sid,
        public_url=str(public_url) if public_url else None,
        trust_proxy=settings.trust_proxy,
        api_base_url=str(settings.api_base_url) if settings.api_base_url else None,
        deadline_s=ctx.config.channels.ingest_deadline_s,
    )


def telegram_adapter(
    ctx: Context, env: Mapping[str, str], *, demo: bool = False
) -> ChannelAdapter | None:
    """Telegram: on with TELEGRAM_BOT_TOKEN and TELEGRAM_SECRET_TOKEN (the webhook's secret).

    With ``demo`` a missing secret token is generated; the bot token is always needed. With
    ``http.public_url`` set the webhook is registered with Telegram at start.
    """
    from channels.telegram import WEBHOOK_PATH, TelegramAdapter
    from router.app.demo import demo_secret

    settings = ctx.config.channels.telegram
    bot = settings.bot_token.get_secret_value() if settings.bot_token else None
    bot = bot or env.get("TELEGRAM_BOT_TOKEN") or None
    secret = settings.secret_token.get_secret_value() if settings.secret_token else None
    secret = secret or env.get("TELEGRAM_SECRET_TOKEN") or None
    if secret is None and demo and bot is not None:
        secret = demo_secret(ctx.config.data_path, "telegram-secret-token")
    if bot is None or secret is None:
        missing = [
            n
            for n, v in (("TELEGRAM_BOT_TOKEN", bot), ("TELEGRAM_SECRET_TOKEN", secret))
            if not v and not (demo and n == "TELEGRAM_SECRET_TOKEN")
        ]
        log.info("channel_off", channel="telegram", reason=f"{' and '.join(missing)} not set")
        return None
    public_url = ctx.config.http.public_url
    return TelegramAdapter(
        ctx.service,
        courier=ctx.courier,
        bot_token=bot,
        secret_token=secret,
        api_base_url=str(settings.api_base_url) if settings.api_base_url else None,
        webhook_url=str(public_url).rstrip("/") + WEBHOOK_PATH if public_url else None,
        languages=ctx.config.languages.supported,
        deadline_s=ctx.config.channels.ingest_deadline_s,
    )


def voice_adapter(
    ctx: Context, env: Mapping[str, str], *, demo: bool = False
) -> ChannelAdapter | None:
    """Phone calls through Twilio: on with TWILIO_AUTH_TOKEN (voice needs no account SID).

    With ``demo`` a missing token is generated under the data dir; ``switchboard call``
    signs with the same one.
    """
    from channels.twilio import BUSY, CONNECTING, CallControl, TwilioVoice, VoiceSurvey
    from router.app.demo import twilio_auth_token

    settings = ctx.config.channels.twilio
    token = twilio_auth_token(ctx.config, env, demo=demo)
    if token is None:
        log.info("channel_off", channel="voice", reason="TWILIO_AUTH_TOKEN not set")
        return None
    public_url = ctx.config.http.public_url
    sid = settings.account_sid or env.get("TWILIO_ACCOUNT_SID") or None
    calls = None
    if settings.hold == "push" and sid and public_url:
        base = str(settings.api_base_url) if settings.api_base_url else None
        calls = CallControl(account_sid=sid, auth_token=token, api_base_url=base)
    elif settings.hold == "push":
        missing = " and ".join(
            n for n, v in (("TWILIO_ACCOUNT_SID", sid), ("http.public_url", public_url)) if not v
        )
        log.info("voice_hold_polls", reason=f"{missing} not set: claims cannot redirect calls")
    voice = TwilioVoice(
        ctx.service,
        auth_token=token,
        public_url=str(public_url) if public_url else None,
        trust_proxy=settings.trust_proxy,
        hold_refresh_s=settings.hold_refresh_s,
        hold_poll_s=settings.hold_poll_s,
        calls=calls,
        callbacks=voice_callbacks(ctx, token, sid),
        survey=(
            VoiceSurvey(ctx.service.surveys, deadline_s=ctx.config.channels.ingest_deadline_s)
            if ctx.service.surveys is not None
            else None
        ),
        default_language=ctx.config.languages.default,
        # An optional `connecting` prompt in config.yaml overrides the built-in texts.
        connecting=ctx.config.book.prompts.get("connecting") or CONNECTING,
        deadline_s=ctx.config.channels.ingest_deadline_s,
        lobby_in_flight=settings.lobby_in_flight or None,
        lobby_pause_s=settings.lobby_pause_s,
        busy=ctx.config.book.prompts.get("lobby") or BUSY,
    )
    if voice.lobby is not None:
        ctx.metrics.watch_lobby(voice.lobby)
    return voice


def voice_callbacks(ctx: Context, token: str, sid: str | None) -> Callbacks | None:
    """Callbacks keeping the place (``channels.twilio.callback``): offered to callers on
    hold when ``channels.twilio.callback.offer`` is on and the REST API can place calls
    (the account SID and ``http.public_url``, which Twilio fetches when one is answered)."""
    from functools import partial

    from channels.twilio import CALLBACK_PROMPTS, Callbacks, CallbackSettings, CallControl
    from router.contacts import CallbackDesk
    from router.desk import announce_change

    config = ctx.config
    settings, public_url = config.channels.twilio, config.http.public_url
    wanted = settings.callback
    needs = (("TWILIO_ACCOUNT_SID", sid), ("http.public_url", public_url))
    missing = [name for name, value in needs if not value]
    missing += [f"prompts.{key}" for key in CALLBACK_PROMPTS if key not in config.book.prompts]
    if not wanted.offer or missing or sid is None:
        if wanted.offer:
            log.info("voice_callbacks_off", reason=f"{' and '.join(missing)} not set")
        return None
    base = str(settings.api_base_url) if settings.api_base_url else None
    return Callbacks(
        inbox=ctx.service,
        host=CallbackDesk(
            store=ctx.store, routing=ctx.routing, session_ttl_s=config.queues.session_ttl_s
        ),
        store=ctx.store,
        calls=CallControl(account_sid=sid, auth_token=token, api_base_url=base),
        public_url=str(public_url),
        prompts=config.book.prompts,
        settings=CallbackSettings(
            attempts=wanted.attempts,
            retry_s=wanted.retry_s,
            ring_s=wanted.ring_s,
            sms=wanted.sms,
        ),
        courier=ctx.courier,
        changed=partial(announce_change, ctx.store),
        clock=ctx.clock,
        default_language=config.languages.default,
        deadline_s=config.channels.ingest_deadline_s,
    )


def email_adapter(ctx: Context, env: Mapping[str, str]) -> ChannelAdapter | None:
    """Email: our SMTP server for ``channels.email.addresses`` (on when any is listed).

    Replies and automatic replies go out through ``channels.email.relay``; without a relay
    host mail is still received, and replies fail saying why. Our Message-IDs are signed
    with the server key, so replies thread only to contacts we wrote from.
    """
    from channels.email import EmailAdapter, EmailSettings, Relay
    from router.identity import load_secret

    settings = ctx.config.channels.email
    if not settings.addresses:
        log.info("channel_off", channel="email", reason="channels.email.addresses is empty")
        return None
    relay = settings.relay
    password = relay.password.get_secret_value() if relay.password else None
    return EmailAdapter(
        inbox=ctx.service,
        store=ctx.store,
        courier=ctx.courier,
        settings=EmailSettings(
            addresses=settings.addresses,
            host=settings.listen.host,
            port=settings.listen.port,
            from_address=settings.from_address,
            max_size_bytes=settings.max_size_bytes,
            relay=Relay(relay.host, relay.port, relay.username, password, relay.starttls)
            if relay.host
            else None,
            tls_cert=settings.tls_cert,
            tls_key=settings.tls_key,
            attachments_dir=ctx.config.data_path / "mail" / "attachments"
            if settings.attachments == "keep"
            else None,
            max_attachment_bytes=settings.max_attachment_bytes,
            auto_reply_per_hour=settings.auto_reply_per_hour,
            max_connections=settings.max_connections,
            max_connections_per_ip=settings.max_connections_per_ip,
            deadline_s=ctx.config.channels.ingest_deadline_s,
        ),
        secret=load_secret(env, ctx.config.data_path),
        clock=ctx.clock,
        redact=lambda text: ctx.service.engine.redact("email", text),
    )
