"""Telegram out: prompts retried in the background, agent replies retried or surfaced,
errors translated, the webhook registered at start, and the wiring."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from channels.base import ChannelAdapter, Reply
from channels.errors import SendFailed
from channels.telegram.adapter import TelegramAdapter
from channels.telegram.send import split_text, translate
from queues import Channel, Store, open_store
from router.app.factory import build_context
from router.app.wiring import telegram_adapter
from router.http.context import Context
from tests.channels.telegram.fake_api import FakeTelegramApi
from tests.channels.telegram.support import (
    BOT_TOKEN,
    CHAT,
    SECRET,
    TG_ENV,
    TelegramDesk,
    config_for,
    telegram_desk,
)
from tests.conftest import FakeClock
from tests.router.conftest import ENV

STORE_BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-telegram-bot 22 warns on int time periods (RetryAfter) unless opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def fast(ctx: Context, env: dict[str, str], api: FakeTelegramApi) -> ChannelAdapter:
    """The adapter built by hand (retry delays run on the store's clock, which tests move)."""
    return TelegramAdapter(
        ctx.service,
        courier=ctx.courier,
        bot_token=BOT_TOKEN,
        secret_token=SECRET,
        api_base_url=api.base_url,
    )


async def queued_and_claimed(desk: TelegramDesk) -> str:
    await desk.say("Internet nie działa od rana")
    await desk.say("jan.kowalski 482913")
    status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
    assert status == 200
    return str(claimed["id"])


async def test_failed_prompts_are_retried_in_order_in_the_background(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store, factory=fast) as desk:
        desk.telegram.fail_next(500)
        desk.telegram.fail_next(429, "Too Many Requests: retry after 1", retry_after=1)
        desk.telegram.fail_next(502, "Bad Gateway")
        assert await desk.say("Internet nie działa od rana") == 200  # stored: 200 at once
        assert await desk.say("jan.kowalski 482913") == 200
        assert await desk.delivered()  # the retries wait on the store's clock
        sent = desk.telegram.sent
        assert len(sent) == 2
        assert sent[0].text.startswith("Dzień dobry! Dziękujemy za wiadomość")
        assert sent[1].text.startswith("Dziękujemy, Twoja tożsamość została potwierdzona.")
        assert desk.telegram.calls.count("sendMessage") == 5


async def test_prompts_to_a_user_who_blocked_the_bot_are_not_retried(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store, factory=fast) as desk:
        desk.telegram.blocked.add(CHAT)
        with capture_logs() as logs:
            assert await desk.say("Dzień dobry") == 200
            assert await desk.delivered()
        failed = [e for e in logs if e["event"] == "courier_failed"]
        assert len(failed) == 1 and failed[0]["attempts"] == 1
        assert "bot was blocked by the user" in failed[0]["reason"]
        assert desk.telegram.calls.count("sendMessage") == 1
        assert len(await store.list_contacts(channel="telegram")) == 1


async def test_agent_reply_is_retried_then_refusal_is_surfaced(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        contact_id = await queued_and_claimed(desk)
        await desk.delivered()
        desk.telegram.fail_next(500)
        desk.telegram.fail_next(503, "Service Unavailable")
        path = f"/api/contacts/{contact_id}/reply"
        status, _ = await desk.api("tomek", "POST", path, {"text": "Sprawdzam."})
        assert status == 200
        assert desk.telegram.sent[-1].text == "Sprawdzam."

        desk.telegram.blocked.add(CHAT)
        status, body = await desk.api("tomek", "POST", path, {"text": "Halo?"})
        assert status == 502 and body["retryable"] is False
        assert "bot was blocked by the user" in body["error"]
        with pytest.raises(SendFailed, match="4097 characters") as caught:
            await desk.adapter.sender.send(
                Reply(contact_id, Channel.TELEGRAM, "1", "x" * 4097, "pl")
            )
        assert not caught.value.retryable

        contact = await store.get_contact(contact_id)
        out = [(m.text, m.meta["delivery"]) for m in contact.messages if m.author]
        assert out == [("Sprawdzam.", "sent"), ("Halo?", "failed")]


def test_errors_are_translated_by_kind() -> None:
    cases = [
        (RetryAfter(3), True, "wait 3 s"),
        (TimedOut(), True, "could not be reached"),
        (NetworkError("Internal Server Error (500)"), True, "(500)"),
        (BadRequest("Bad Request: chat not found"), False, "Chat not found"),
        (Forbidden("Forbidden: bot was blocked by the user"), False, "blocked"),
        (InvalidToken(f"The token `{BOT_TOKEN}` was rejected"), False, "TELEGRAM_BOT_TOKEN"),
        (ChatMigrated(-1009), False, "-1009"),
    ]
    for error, retryable, reason in cases:
        failed = translate(error)
        assert isinstance(failed, SendFailed) and failed.channel == "telegram"
        assert failed.retryable is retryable, error
        assert reason in failed.reason and BOT_TOKEN not in failed.reason
    assert translate(RetryAfter(3)).retry_after_s == 3


def test_split_text_joins_prompts_within_the_limit() -> None:
    assert split_text(["a", "b"]) == ["a\n\nb"]
    assert split_text(["a" * 6, "b" * 3], limit=8) == ["a" * 6, "b" * 3]
    assert split_text(["a" * 10], limit=4) == ["aaaa", "aaaa", "aa"]


async def test_webhook_is_registered_at_start_when_a_public_url_is_set(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    public = "https://support.example.com"
    async with telegram_desk(tmp_path, clock, store, public_url=public) as desk:
        assert desk.telegram.calls[:2] == ["getMe", "setWebhook"]
        hook = desk.telegram.webhook
        assert hook["url"] == "https://support.example.com/telegram/webhook"
        assert hook["secret_token"] == SECRET and hook["allowed_updates"] == ["message"]


async def test_a_rejected_bot_token_is_logged_without_the_token(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    env = {**TG_ENV, "TELEGRAM_BOT_TOKEN": "7000000001:wrong"}
    with capture_logs() as logs:
        async with telegram_desk(tmp_path, clock, store, env=env):
            pass
    (failed,) = [e for e in logs if e["event"] == "telegram_get_me_failed"]
    assert "TELEGRAM_BOT_TOKEN" in failed["reason"] and "wrong" not in str(logs)


def test_wiring_needs_the_bot_token_and_generates_a_demo_secret(
    tmp_path: Path, clock: FakeClock
) -> None:
    async def build(env: dict[str, str], demo: bool) -> object:
        store = await open_store("memory://")
        try:
            config = config_for(tmp_path, env)
            ctx = build_context(config, store, clock=clock, outboxes={}, env=env)
            return telegram_adapter(ctx, env, demo=demo)
        finally:
            await store.aclose()

    with capture_logs() as logs:
        assert asyncio.run(build(ENV, True)) is None
        assert asyncio.run(build({**ENV, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}, False)) is None
    assert [e["reason"] for e in logs if e["event"] == "channel_off"] == [
        "TELEGRAM_BOT_TOKEN not set",  # the demo would make the secret, not the bot
        "TELEGRAM_SECRET_TOKEN not set",
    ]
    assert not (tmp_path / "var" / "demo-telegram-secret-token").exists()
    assert isinstance(asyncio.run(build(TG_ENV, False)), TelegramAdapter)
    adapter = asyncio.run(build({**ENV, "TELEGRAM_BOT_TOKEN": BOT_TOKEN}, True))
    assert isinstance(adapter, TelegramAdapter)
    generated = (tmp_path / "var" / "demo-telegram-secret-token").read_text().strip()
    assert len(generated) == 32 and adapter._secret == generated.encode()
