"""Surveys and first-contact resolution on Redis (``queues/outcomes.py``): each one script
on the contact's team tag (``lua/survey.lua``, ``lua/fcr.lua``), which records the event
in the team's stream and counts it in the team's bucket in the same step. A watch lives
under the team's tag too (``:fcr:<account>``), so each script is single-slot."""

from __future__ import annotations

from queues.base import Clock
from queues.errors import InvalidTransition
from queues.outcomes import check_score
from queues.redis.codec import fmt_time
from queues.redis.keys import entry_key, fcr_watch_key, team_buckets_key, team_events_key
from queues.redis.locate import Locator
from queues.redis.scripts import check

__all__ = ["Outcomes"]


class Outcomes:
    """record_survey, fcr_resolved, fcr_arrived."""

    def __init__(self, locator: Locator, clock: Clock) -> None:
        self._locator = locator
        self._clock = clock

    async def record_survey(self, contact_id: str, score: int | None) -> bool:
        check_score(score)
        at = self._clock()

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [entry_key(team, contact_id), team_events_key(team)]
            keys.append(team_buckets_key(team, at))
            return keys, [contact_id, fmt_time(at), team, "" if score is None else str(score)]

        ran = await self._locator.run_in_team("survey", contact_id, build)
        if ran.team is None:
            raise InvalidTransition(contact_id, ran.flow_state, "survey")
        return ran.reply[0] != "dup" and bool(check(ran.reply, contact_id, "survey"))

    async def fcr(self, contact_id: str, account: str, mode: str, within_s: float) -> bool:
        at = self._clock()

        def build(team: str) -> tuple[list[str], list[str]]:
            keys = [entry_key(team, contact_id), fcr_watch_key(team, account)]
            keys += [team_events_key(team), team_buckets_key(team, at)]
            return keys, [contact_id, fmt_time(at), team, mode, fmt_time(within_s)]

        ran = await self._locator.run_in_team("fcr", contact_id, build)
        operation = f"count a first-contact resolution ({mode})"
        if ran.team is None:
            raise InvalidTransition(contact_id, ran.flow_state, operation)
        if ran.reply[0] in ("dup", "none"):
            return False
        return bool(check(ran.reply, contact_id, operation))
