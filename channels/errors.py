"""The one exception tree of ``channels``.

Exceptions::

    ChannelError                 base; raised as is when a channel cannot start (an SMTP port
    │                            taken, TLS files that do not load): the message says which
    │                            setting to change
    ├── SendFailed               a reply could not be delivered; ``retryable`` says whether
    │   │                        trying again may help (the router answers 502)
    │   └── TelegramSendFailed   Telegram refused; ``retry_after_s`` is the wait it asked for
    └── FrameError (ValueError)  a web chat frame the server refuses; ``reason`` is the code
                                 sent back in the error frame

Vendor errors (twilio, python-telegram-bot, aiosmtplib) are translated into these at the
boundary, ``raise SendFailed(...) from exc``, so nothing above ``channels`` sees them.
"""

from __future__ import annotations

__all__ = ["ChannelError", "FrameError", "SendFailed", "TelegramSendFailed"]


class ChannelError(Exception):
    """Base of the errors a channel adapter raises."""


class SendFailed(ChannelError):
    """A reply could not be delivered; ``retryable`` says whether trying again may help."""

    def __init__(self, channel: str, reason: str, *, retryable: bool = True) -> None:
        super().__init__(f"{channel}: sending failed: {reason}")
        self.channel = channel
        self.reason = reason
        self.retryable = retryable


class TelegramSendFailed(SendFailed):
    """A refused send; ``retry_after_s`` is the wait Telegram asked for (flood control)."""

    def __init__(self, reason: str, *, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__("telegram", reason, retryable=retryable)
        self.retry_after_s = retry_after_s


class FrameError(ChannelError, ValueError):
    """A client frame the server refuses; ``reason`` is the code sent in the error frame."""

    def __init__(self, reason: str, message: str, *, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.frame_id = frame_id
