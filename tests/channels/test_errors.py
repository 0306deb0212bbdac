"""The layer's one exception tree: its shape, and its drawing in ``channels.errors``."""

from __future__ import annotations

import inspect

import channels
from channels import errors
from channels.errors import ChannelError, FrameError, SendFailed, TelegramSendFailed


def test_every_channel_error_descends_from_channel_error() -> None:
    assert issubclass(SendFailed, ChannelError)
    assert issubclass(TelegramSendFailed, SendFailed)
    assert issubclass(FrameError, ChannelError) and issubclass(FrameError, ValueError)


def test_the_docstring_draws_every_class_and_the_package_exports_them() -> None:
    classes = [name for name, obj in inspect.getmembers(errors, inspect.isclass)]
    assert sorted(classes) == sorted(errors.__all__)
    drawn = errors.__doc__ or ""
    assert all(name in drawn for name in classes)
    assert set(classes) <= set(channels.__all__)


def test_send_failed_says_the_channel_and_whether_to_retry() -> None:
    failed = SendFailed("sms", "Twilio answered 500", retryable=True)
    assert str(failed) == "sms: sending failed: Twilio answered 500"
    assert (failed.channel, failed.reason, failed.retryable) == ("sms", "Twilio answered 500", True)
    flood = TelegramSendFailed("flood control", retryable=True, retry_after_s=3.0)
    assert (flood.channel, flood.retry_after_s) == ("telegram", 3.0)
