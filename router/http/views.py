"""What the API and the console websocket show: a contact, and the queues' depths."""

from __future__ import annotations

from typing import Any

from queues import Contact, ContactState
from router.contacts import callback_view
from router.http.compensation_api import contact_compensation
from router.http.context import Context
from router.outages import incident_of

__all__ = ["contact_view", "queue_depths"]


async def contact_view(ctx: Context, contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it: the record, the account of a verified contact (never
    its code), position, and the outage compensation its account is due (``compensation``,
    a list)."""
    view = contact.to_dict()
    # An unverified contact may name an account (joined to it by its address: verify_method
    # "joined:<id>"); it shows that login, as the timeline does, never the account's details.
    account = ctx.accounts.find(contact.account) if contact.verified and contact.account else None
    view["account_info"] = account.public() if account else None
    view["incident"] = await incident_of(ctx.store, contact.id)  # linked by router.outages
    # A verified customer hit by an outage: what each incident makes due (shown to the agent).
    view["compensation"] = await contact_compensation(ctx, contact)
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
    # A voice caller who booked a callback keeping the place: number, state, tries.
    view["callback"] = await callback_view(
        ctx.store, contact, max_attempts=ctx.config.channels.twilio.callback.attempts
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
