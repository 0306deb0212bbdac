"""The two spike tests, pure: is this many arrivals, or this many of one topic, unusual?

**Rate** (arrivals of a team, counted as they are queued): under "no outage" they are
a Poisson process whose rate for this hour of the week is known as a Gamma posterior
(``profile.py``), so the count in a window of exposure ``t`` hours has the negative
binomial predictive distribution. At each arrival, for windows of ``RATE_WINDOWS_MIN``
minutes (ending now), the p-value is P(X >= n) under that predictive; a spike is a p-value
under ``RATE_ALPHA`` with at least ``MIN_COUNT`` arrivals. The predictive, not a plug-in
Poisson, is what makes this sound on a new desk: with few hours learned its tail is wide,
so only a count far above any plausible rate alarms; with weeks learned it tends to the
Poisson tail of the true rate.

**Topic** (first messages of one topic, ``topics.py``): conditioned on the ``m`` first
messages (with text) in the last ``TOPIC_WINDOW_MIN`` minutes, the ``n`` about the topic
are Binomial(m, share) under "no outage", the share being the topic's among the first
messages of the last days, outside this window, with a Beta prior (``TOPIC_PRIOR``: a
topic nobody wrote about is assumed to be up to a tenth of the traffic until the days say
less). Conditioning on ``m`` makes the test indifferent to the hour's volume (the rate
test watches that): it fires when one topic crowds the others out.

Both tests run at every arrival, so ``alpha`` is not the false-alarm rate: the windows
overlap and the tests repeat. The rate is measured instead, on quiet simulated weeks of
Poisson arrivals (``tests/router/outages/test_false_alarms.py``), and the thresholds are
set so that it stays under ``CLAIMED_FALSE_ALARMS_PER_WEEK`` per stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from router.outages.tails import binomial_sf, negbin_sf

__all__ = [
    "CLAIMED_FALSE_ALARMS_PER_WEEK",
    "MIN_COUNT",
    "RATE_ALPHA",
    "RATE_WINDOWS_MIN",
    "TOPIC_ALPHA",
    "TOPIC_PRIOR",
    "TOPIC_WINDOW_MIN",
    "Spike",
    "rate_spike",
    "topic_spike",
]

RATE_WINDOWS_MIN = (3, 10, 30)
RATE_ALPHA = 1e-6
TOPIC_WINDOW_MIN = 10
TOPIC_ALPHA = 1e-6
#: Beta prior of a topic's share: ``(hits, messages)`` pseudo-counts (a share of 1/10).
TOPIC_PRIOR = (1.0, 10.0)
MIN_COUNT = 5
#: False alarms per stream (a team's arrivals, the topics) per quiet week, at most.
CLAIMED_FALSE_ALARMS_PER_WEEK = 0.1


@dataclass(frozen=True, slots=True)
class Spike:
    """An unusual count: ``count`` in ``window_s`` where ``expected`` were (p-value)."""

    count: int
    window_s: float
    expected: float
    p_value: float


def rate_spike(
    windows: Sequence[tuple[int, float, tuple[float, float]]],
    *,
    alpha: float = RATE_ALPHA,
    min_count: int = MIN_COUNT,
) -> Spike | None:
    """The strongest spike among ``windows``, each (arrivals, exposure in hours, the Gamma
    (shape, rate) posterior of the arrivals per hour over it); None when none."""
    best: Spike | None = None
    for n, exposure_h, (shape, rate) in windows:
        if n < min_count or exposure_h <= 0:
            continue
        p = negbin_sf(n, shape, rate, exposure_h)
        if p < alpha and (best is None or p < best.p_value):
            best = Spike(n, round(exposure_h * 3600, 3), shape / rate * exposure_h, p)
    return best


def topic_share(topic_days: int, all_days: int, topic_now: int, all_now: int) -> float:
    """The topic's usual share: its first messages of the last days outside the window,
    with the prior."""
    hits, messages = TOPIC_PRIOR
    past_topic = max(0, topic_days - topic_now)
    past_all = max(past_topic, all_days - all_now)
    return min(1.0, (past_topic + hits) / (past_all + messages))


def topic_spike(
    topic_now: int,
    all_now: int,
    topic_days: int,
    all_days: int,
    *,
    window_s: float = TOPIC_WINDOW_MIN * 60.0,
    alpha: float = TOPIC_ALPHA,
    min_count: int = MIN_COUNT,
) -> Spike | None:
    """A spike when ``topic_now`` of the ``all_now`` first messages in the window are about
    the topic, against its share in the days (``topic_days`` of ``all_days``, window
    included); None when that is usual."""
    if topic_now < min_count:
        return None
    share = topic_share(topic_days, all_days, topic_now, all_now)
    trials = max(all_now, topic_now)
    if topic_now <= trials * share and alpha < 0.5:
        # At most the mean: P(X >= n) >= 1/2 (a binomial's median is at least the mean's
        # floor), never a spike; the tail would cost a sum over every count below n.
        return None
    p = binomial_sf(topic_now, trials, share)
    if p >= alpha:
        return None
    return Spike(topic_now, window_s, share * all_now, p)
