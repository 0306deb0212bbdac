"""What the API and the console websocket show: a contact, and the queues' depths."""

from __future__ import annotations

from typing import Any

from queues import Contact, ContactState
from router.http.context import Context

__all__ = ["contact_view", "queue_depths"]


async def contact_view(ctx: Context, contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it: the record, the account (never its code), position."""
    view = contact.to_dict()
    account = ctx.accounts.find(contact.account) if contact.account else None
    view["account_info"] = account.public() if account else None
    view["position"] = None
    if contact.state is ContactState.WAITING:
        position = await ctx.store.position(contact.id)
        if position is not None:
            view["position"] = position.ahead + 1
    view["waited_s"] = (
        round((contact.assigned_at or ctx.clock()) - contact.queued_at, 3)
        if contact.queued_at is not None
        else None
    )
    return view


async def queue_depths(ctx: Context) -> list[dict[str, Any]]:
    """Each team's queue: waiting, assigned, the oldest wait, agents available and busy."""
    stats = await ctx.store.queue_stats(ctx.routing.teams)
    load = await ctx.presence.load(ctx.routing.teams)
    return [
        {
            "team": s.team,
            "waiting": s.waiting,
            "assigned": s.assigned,
            "oldest_wait_s": s.oldest_wait_s,
            "agents_available": load[s.team].available,
            "agents_busy": load[s.team].busy,
        }
        for s in stats
    ]
