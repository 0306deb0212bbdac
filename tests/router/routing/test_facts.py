"""The flow's facts: open teams shared by the messages of one second, exact at the edges."""

from __future__ import annotations

import pytest

from router.routing import Incidents, Routing
from router.routing.hours import BusinessHours
from router.routing.policy import PriorityRules, SlaRules
from tests.router.routing.test_hours import OFFICE, utc


@pytest.fixture
def routing() -> Routing:
    def hours(opens: str) -> BusinessHours:
        days = {**OFFICE, "sat": None, "sun": None, "fri": f"{opens}-18:00"}
        return BusinessHours.from_spec("Europe/Warsaw", days, country="PL")

    return Routing(
        teams=("billing", "technical"),
        default_team="billing",
        hours={"billing": hours("10:00"), "technical": hours("08:00")},
        priority=PriorityRules(channel={}, tier={}, incident=0, complaint=0),
        sla=SlaRules(answer={}, first_response_business_days={}, complaint_business_days=1),
    )


def test_the_open_teams_change_at_the_opening_second_and_not_within_it(routing: Routing) -> None:
    ten = utc(2026, 3, 27, 9, 0)  # Fri 10:00 CET
    before = [ten - 1.0, ten - 0.5, ten - 0.001]
    after = [ten, ten + 0.001, ten + 0.999, ten + 1.5]
    for at in before:
        assert routing.facts(Incidents(), at=at, language="en").open_teams == {"technical"}
    for at in after:
        assert routing.facts(Incidents(), at=at, language="pl").open_teams == {
            "billing",
            "technical",
        }
    # Back in time (another process's clock): the earlier second is worked out again.
    assert routing.open_teams(ten - 0.25) == {"technical"}


def test_an_incident_opened_within_a_second_is_announced_from_its_instant(
    routing: Routing,
) -> None:
    at = utc(2026, 3, 27, 9, 30)
    incidents, _ = Incidents().open("technical", "Fibre cut in Kraków", at=at + 0.5)
    assert routing.facts(incidents, at=at + 0.2, language="en").incidents == {}
    facts = routing.facts(incidents, at=at + 0.7, language="en")
    assert facts.incidents == {"technical": "Fibre cut in Kraków"}
    assert facts.open_teams == {"billing", "technical"}
