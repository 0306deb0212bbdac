"""The false-alarm rate measured: quiet simulated weeks of Poisson arrivals at the usual rate,
through the same functions the detector runs (``quiet.py``), must raise fewer alarm
episodes (suggestions) than claimed. Larger runs are in the README."""

from __future__ import annotations

import pytest

from router.outages.spikes import CLAIMED_FALSE_ALARMS_PER_WEEK
from tests.router.outages.quiet import rate_alarms, topic_alarms

pytestmark = pytest.mark.slow

WEEKS = 10


@pytest.mark.parametrize(
    ("history_weeks", "peak"), [(4, 40.0), (1, 200.0), (0, 40.0)], ids=["learned", "busy", "new"]
)
def test_quiet_weeks_of_arrivals_raise_fewer_alarms_than_claimed(
    history_weeks: int, peak: float
) -> None:
    weeks = WEEKS if peak < 100 else 3
    episodes = arrivals = 0
    for seed in range(weeks):
        found, n = rate_alarms(seed, history_weeks=history_weeks, peak=peak)
        episodes += found
        arrivals += n
    assert arrivals > weeks * peak * 40  # the weeks were busy
    assert episodes <= CLAIMED_FALSE_ALARMS_PER_WEEK * weeks


@pytest.mark.parametrize("per_hour", [40.0, 200.0])
def test_quiet_weeks_of_topics_raise_fewer_alarms_than_claimed(per_hour: float) -> None:
    weeks = 3
    episodes = sum(topic_alarms(seed, per_hour=per_hour)[0] for seed in range(weeks))
    assert episodes <= CLAIMED_FALSE_ALARMS_PER_WEEK * weeks


def test_the_measurement_can_fail_a_detector_that_alarms_too_easily(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import router.outages.spikes as spikes

    assert spikes.rate_spike.__kwdefaults__ is not None
    monkeypatch.setitem(spikes.rate_spike.__kwdefaults__, "alpha", 1e-2)
    episodes, _ = rate_alarms(0, history_weeks=4, peak=40.0)
    assert episodes > CLAIMED_FALSE_ALARMS_PER_WEEK * 10
