"""Telegram: the bot's webhook in, Bot API calls out."""

from channels.telegram.adapter import WEBHOOK_PATH, TelegramAdapter

__all__ = ["WEBHOOK_PATH", "TelegramAdapter"]
