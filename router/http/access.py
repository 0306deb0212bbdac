"""Who may read which contact, through every endpoint that shows one.

The decision (issue 15): an agent reads the contacts of the teams they serve, the contacts
they hold (``contact.agent``), and contacts no team owns yet (still in their flow); agents
named in ``agents.supervisors`` read every contact, read only (they still claim, reply and
resolve on their own teams, which the desk checks). A contact of another team is refused
with 403 and a reason (a contact transferred away is its new team's to read).

Where the rule is applied:

- ``GET /api/contacts/{id}`` refuses (403); ``GET /api/contacts`` lists only readable
  contacts: an agent who serves some of the teams gets theirs (``team=`` must be one of
  them), one who serves every team (or a supervisor) gets everything (``api``).
- A customer's timeline, notes and tags (``timeline_api``) are reached through a contact
  the agent may read, else 403; the timeline then shows the customer's other contacts on
  every team as summaries (channel, times, team, disposition, notes, tags; never their
  messages), as the agent answering the customer needs that history, and opening one of
  them follows this rule again.
- Canned replies filled for a contact (``canned_api ?contact_id=``): 403 as above.
- An incident's compensation report (``compensation_api``) counts only the linked contacts
  the agent may read (the rest in ``unreadable_contacts``), plus the accounts named.
- The console's live feed (``live``) starts watching a contact for its holder and pushes
  it while ``may_read`` holds (a contact transferred to a team the agent does not serve is
  ``gone``); typing (``console_api``) is the holder's only; a customer's export, erase
  and the privacy audit (``privacy_api``) for supervisors only. The complaint form
  (``complaints_api``) is public and shows no contact: it answers a complaint with its
  number and due date.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection
from typing import Any

from queues import Contact, Store
from router.identity import Agent

__all__ = ["may_read", "readable", "refusal"]


def _teams(
    agent: Agent, supervisors: Collection[str], every_team: Collection[str]
) -> frozenset[str] | None:
    """The teams whose contacts ``agent`` reads; None: every team."""
    teams = frozenset(agent.teams)
    return None if agent.name in supervisors or teams >= set(every_team) else teams


def may_read(
    agent: Agent, contact: Contact, supervisors: Collection[str], every_team: Collection[str]
) -> bool:
    teams = _teams(agent, supervisors, every_team)
    return (
        teams is None
        or contact.team is None
        or contact.team in teams
        or contact.agent == agent.name
    )


def refusal(agent: Agent, contact: Contact) -> str:
    return (
        f"contact {contact.id!r} is on team {contact.team}; you read the contacts of "
        f"{', '.join(agent.teams)} and those you hold (supervisors read every team)"
    )


async def readable(
    store: Store,
    agent: Agent,
    supervisors: Collection[str],
    every_team: Collection[str],
    *,
    team: str | None,
    limit: int,
    **filters: Any,
) -> list[Contact] | str:
    """The contacts matching ``filters`` that ``agent`` may list, newest first (at most
    ``limit``), or why the asked ``team`` is refused. One store read per team served."""
    teams = _teams(agent, supervisors, every_team)
    if teams is None:
        return await store.list_contacts(team=team, limit=limit, **filters)
    if team is not None and team not in teams:
        return f"you read the contacts of {', '.join(agent.teams)}, not of team {team!r}"
    lists = [
        await store.list_contacts(team=name, limit=limit, **filters)
        for name in ([team] if team is not None else sorted(teams))
    ]
    newest = heapq.merge(*lists, key=lambda c: c.created_at, reverse=True)
    return [c for _, c in zip(range(limit), newest, strict=False)]
