"""The tails against sums done the long way, from the bulk to 1e-30."""

from __future__ import annotations

import math

import pytest

from router.outages.tails import binomial_sf, negbin_sf, poisson_sf


def poisson_by_hand(n: int, mean: float) -> float:
    return sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(n, 3000))


@pytest.mark.parametrize(
    ("n", "mean"), [(0, 1.0), (1, 1.0), (3, 1.5), (17, 5.0), (5, 0.15), (30, 40.0), (500, 400.0)]
)
def test_poisson_tail(n: int, mean: float) -> None:
    assert poisson_sf(n, mean) == pytest.approx(poisson_by_hand(n, mean), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    ("n", "trials", "p"), [(5, 5, 0.1), (12, 32, 0.3), (3, 10, 0.5), (0, 4, 0.2), (30, 30, 0.1)]
)
def test_binomial_tail(n: int, trials: int, p: float) -> None:
    exact = sum(math.comb(trials, k) * p**k * (1 - p) ** (trials - k) for k in range(n, trials + 1))
    assert binomial_sf(n, trials, p) == pytest.approx(exact, rel=1e-9)
    assert binomial_sf(trials + 1, trials, p) == 0.0


def test_negative_binomial_is_the_gamma_mixed_poisson() -> None:
    shape, rate, exposure = 2.5, 0.5, 0.1
    q = exposure / (rate + exposure)

    def pmf(k: int) -> float:
        log = (
            math.lgamma(k + shape)
            - math.lgamma(shape)
            - math.lgamma(k + 1)
            + shape * math.log(1 - q)
            + k * math.log(q)
        )
        return math.exp(log)

    for n in (0, 1, 3, 5, 12):
        exact = sum(pmf(k) for k in range(n, 2000))
        assert negbin_sf(n, shape, rate, exposure) == pytest.approx(exact, rel=1e-9, abs=1e-15)


def test_a_sure_rate_makes_the_negative_binomial_poisson() -> None:
    # Rate known to be 5 per hour (shape and rate huge): a window of one hour is Poisson(5).
    assert negbin_sf(17, 5e6, 1e6, 1.0) == pytest.approx(poisson_sf(17, 5.0), rel=1e-4)
    # Little known about the rate: the same count is far less surprising.
    assert negbin_sf(17, 0.5, 0.1, 1.0) > 100 * poisson_sf(17, 5.0)
