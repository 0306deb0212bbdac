"""Upper tails of the counting distributions the spike tests use; pure, no I/O.

Each is P(X >= n), summed term by term in log space from ``n`` upwards when the tail is
small (so 1e-12 is as exact as 0.3), or as one minus the lower sum when ``n`` is below the
mean. No factorials overflow: terms come from ``math.lgamma`` and term ratios.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["binomial_sf", "negbin_sf", "poisson_sf"]

_EPS = 1e-17
_MAX_TERMS = 100_000


def _sum_from(first_log: float, ratio: Callable[[int], float], start: int, stop: int) -> float:
    """exp(first_log) * (1 + r(start) + r(start) r(start+1) + ...) for k in [start, stop)."""
    term, total = 1.0, 1.0
    for k in range(start, min(stop, start + _MAX_TERMS)):
        term *= ratio(k)
        total += term
        if term < _EPS * total:
            break
    return math.exp(first_log) * total


def poisson_sf(n: int, mean: float) -> float:
    """P(X >= n) for X ~ Poisson(``mean``)."""
    if n <= 0:
        return 1.0
    if mean <= 0:
        return 0.0

    def log_pmf(k: int) -> float:
        return k * math.log(mean) - mean - math.lgamma(k + 1)

    if n > mean:
        return min(1.0, _sum_from(log_pmf(n), lambda k: mean / (k + 1), n, 1 << 62))
    lower = sum(math.exp(log_pmf(k)) for k in range(n))
    return max(0.0, 1.0 - lower)


def negbin_sf(n: int, shape: float, rate: float, exposure: float) -> float:
    """P(X >= n) where X ~ Poisson(lambda * ``exposure``) and lambda ~ Gamma(``shape``,
    ``rate``): the predictive count of a Poisson process whose rate is known only as a Gamma
    posterior (a negative binomial with mean shape * exposure / rate)."""
    if n <= 0:
        return 1.0
    if shape <= 0 or rate <= 0 or exposure <= 0:
        return 0.0
    q = exposure / (rate + exposure)  # success probability per extra count
    log_q, log_p = math.log(q), math.log(rate / (rate + exposure))

    def log_pmf(k: int) -> float:
        return (
            math.lgamma(k + shape)
            - math.lgamma(shape)
            - math.lgamma(k + 1)
            + shape * log_p
            + k * log_q
        )

    mean = shape * q / (1 - q)
    if n > mean:
        return min(1.0, _sum_from(log_pmf(n), lambda k: (k + shape) / (k + 1) * q, n, 1 << 62))
    lower = sum(math.exp(log_pmf(k)) for k in range(n))
    return max(0.0, 1.0 - lower)


def binomial_sf(n: int, trials: int, p: float) -> float:
    """P(X >= n) for X ~ Binomial(``trials``, ``p``)."""
    if n <= 0:
        return 1.0
    if n > trials or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_1p = math.log(p), math.log1p(-p)

    def log_pmf(k: int) -> float:
        choose = math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
        return choose + k * log_p + (trials - k) * log_1p

    odds = p / (1 - p)
    if n > trials * p:
        return min(1.0, _sum_from(log_pmf(n), lambda k: (trials - k) / (k + 1) * odds, n, trials))
    lower = sum(math.exp(log_pmf(k)) for k in range(n))
    return max(0.0, 1.0 - lower)
