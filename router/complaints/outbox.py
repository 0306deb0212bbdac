"""Agents' replies to a written complaint (channel ``form``): by email when the holder gave
one, through the email channel; otherwise the reply is refused with what to do instead
(answer by letter or phone, as the holder asked)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from channels import Outbox, Reply, SendFailed
from queues import Channel

__all__ = ["FormOutbox"]


class FormOutbox:
    """The ``Outbox`` of the ``form`` channel; ``senders`` are the courier's (the email
    channel's is looked up at each send: it may start after this one is made)."""

    channel = Channel.FORM

    def __init__(self, senders: Mapping[Channel, Outbox]) -> None:
        self._senders = senders

    async def send(self, reply: Reply) -> str | None:
        form = reply.meta.get("form") or {}
        email = form.get("email")
        if not email:
            how = form.get("answer_by") or "letter"
            where = form.get("postal_address") if how == "letter" else form.get("phone")
            raise SendFailed(
                str(self.channel),
                f"the holder gave no email and asked for an answer by {how}"
                + (f" ({where})" if where else "")
                + "; answer that way and note it on the contact",
                retryable=False,
            )
        sender = self._senders.get(Channel.EMAIL)
        if sender is None:  # another process may run it
            raise SendFailed(str(self.channel), "the email channel is not running in this process")
        return await sender.send(dataclasses.replace(reply, channel=Channel.EMAIL, address=email))
