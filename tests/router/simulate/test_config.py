"""The ``simulate:`` section of config.yaml: the shipped day, and one line per problem."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from router.config import ConfigError, parse_config
from tests.router.conftest import ENV, ROOT


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text("utf-8"))
    return data


def problems_of(simulate: dict[str, Any]) -> list[tuple[str, str]]:
    data = shipped()
    data["simulate"] = simulate
    with pytest.raises(ConfigError) as caught:
        parse_config(data, base_dir=ROOT, env=ENV)
    return caught.value.problems


def test_the_shipped_day_loads() -> None:
    config = parse_config(shipped(), base_dir=ROOT, env=ENV)

    sim = config.simulate
    assert sim is not None
    assert (sim.start, sim.hours, sim.interval_s, sim.handle) == (8 * 60, 12.0, 1800, "lognormal")
    assert set(sim.teams) == set(config.team_names)
    assert sim.profile[10 * 60] == 1.5 and min(sim.profile) == 0
    assert sum(s.agents for s in sim.shifts) == 19
    assert sim.outage is not None and sim.outage.team == "technical" and sim.outage.incident
    assert str(sim.outage.hours[0]) == "11:00-13:00"


def test_a_config_without_the_section_still_loads() -> None:
    data = shipped()
    del data["simulate"]
    assert parse_config(data, base_dir=ROOT, env=ENV).simulate is None


@pytest.mark.parametrize(
    ("change", "path", "says"),
    [
        ({"profile": {"9:75": 1.0}}, "simulate.profile.9:75", "is not a time of day"),
        ({"profile": {600: 1.0}}, "simulate.profile.600", 'write it as "HH:MM" in quotes'),
        ({"profile": {"10:00": 0}}, "simulate.profile", "has no positive weight"),
        ({"interval_s": 1000}, "simulate.interval_s", "does not divide a day"),
        ({"start": "8"}, "simulate.start", "is not a time of day"),
        ({"handle": "gamma"}, "simulate.handle", "'exponential' or 'lognormal'"),
        ({"patience_s": {"fax": 60}}, "simulate.patience_s.fax", "is not a channel"),
    ],
)
def test_a_bad_setting_is_named(change: dict[str, Any], path: str, says: str) -> None:
    simulate = shipped()["simulate"]
    simulate.update(change)

    (found,) = problems_of(simulate)

    assert found[0] == path and says in found[1], found


def test_teams_must_exist_and_shifts_serve_someone() -> None:
    simulate = shipped()["simulate"]
    simulate["teams"]["sales"] = {"contacts": 10, "aht_s": 60, "channels": {"voice": 1}}
    simulate["shifts"].append({"agents": 2, "teams": [], "hours": "10:00-12:00"})
    simulate["outage"]["team"] = "noc"

    found = dict(problems_of(simulate))

    assert "is not a team" in found["simulate.teams.sales"]
    assert "is empty" in found["simulate.shifts.4.teams"]
    assert "'noc' is not a team" in found["simulate.outage.team"]
