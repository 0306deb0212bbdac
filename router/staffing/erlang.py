"""Erlang C (M/M/N) and Erlang A (M/M/N+M) queueing formulas. Pure: no I/O, standard library.

Units: times in seconds, traffic in erlangs (arrival rate x AHT). ``agents`` is N.

Erlang C comes from the Erlang B recurrence ``B(n) = A·B(n-1) / (n + A·B(n-1))``, which stays
in [0, 1] for any N (no factorials, no overflow), and ``C = N·B / (N - A·(1 - B))``.

Erlang A adds exponential patience (mean ``patience_s``, rate θ = 1/patience_s) and uses the
virtual-waiting-time density of M/M/N+G (Baccelli & Hébuterne 1981; Mandelbaum & Zeltyn,
"The M/M/n+G queue: summary of performance measures", 2007). With λ the arrival rate, μ = 1/AHT,
H(x) = (1 - e^(-θx))/θ, g(x) = exp(λ·H(x) - Nμ·x) and ε = 1/B(N-1, A):

    P(V = 0) = ε / (ε + λJ),   f_V(x) = λ·g(x) / (ε + λJ),   J = ∫₀^∞ g(x) dx

A caller is answered if its patience outlasts V, so (W = time to answer):

    P(answered, W <= t) = (ε + ∫₀^t λ·e^(-θx)·g(x) dx) / (ε + λJ)
    P(abandon)          = ∫₀^∞ λ·(1 - e^(-θx))·g(x) dx / (ε + λJ)

The integrals are one-dimensional and smooth: log g is concave (its second derivative is
-λθ·e^(-θx)), and so is the log of every integrand, so each has one peak. g is divided by its
own peak (found in closed form) so nothing overflows for thousands of agents or a patience of
days, and each integral is taken over the range where its integrand is within e^-60 of its
peak by adaptive Gauss-Legendre (``router.staffing.quadrature``). As the patience grows to
infinity the formulas tend to Erlang C; the tests check this, the birth-death chain of
M/M/N+M (P(wait), abandonment, occupancy to 1e-9) and a discrete-event simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from router.staffing.quadrature import edge, integrate

__all__ = [
    "MAX_TRAFFIC_ERL",
    "ErlangA",
    "Staffing",
    "agents_needed",
    "asa_s",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "service_level",
]

#: The largest offered traffic ``agents_needed`` takes (its work grows with the agents).
MAX_TRAFFIC_ERL = 50_000


def erlang_b(agents: int, traffic_erl: float) -> float:
    """Blocking probability of M/M/N/N (Erlang B), by the stable recurrence."""
    _check_agents(agents)
    _check_traffic(traffic_erl)
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic_erl * blocking / (n + traffic_erl * blocking)
    return blocking


def erlang_c(agents: int, traffic_erl: float) -> float:
    """Probability that a caller waits (Erlang C); 1.0 when agents <= traffic."""
    _check_agents(agents)
    _check_traffic(traffic_erl)
    if traffic_erl == 0.0:
        return 0.0
    if agents <= traffic_erl:
        return 1.0
    blocking = erlang_b(agents, traffic_erl)
    return agents * blocking / (agents - traffic_erl * (1.0 - blocking))


def service_level(agents: int, traffic_erl: float, aht_s: float, within_s: float) -> float:
    """Erlang C share of callers answered within ``within_s`` (0.0 when agents <= traffic)."""
    _check_positive("aht_s", aht_s)
    _check_non_negative("within_s", within_s)
    if agents <= traffic_erl and traffic_erl > 0.0:
        return 0.0
    p_wait = erlang_c(agents, traffic_erl)
    return 1.0 - p_wait * math.exp(-(agents - traffic_erl) * within_s / aht_s)


def asa_s(agents: int, traffic_erl: float, aht_s: float) -> float:
    """Erlang C average speed of answer in seconds (infinite when agents <= traffic)."""
    _check_positive("aht_s", aht_s)
    if agents <= traffic_erl and traffic_erl > 0.0:
        return math.inf
    return erlang_c(agents, traffic_erl) * aht_s / (agents - traffic_erl)


def occupancy(agents: int, traffic_erl: float) -> float:
    """Share of agent time spent handling calls, traffic / agents, at most 1.0."""
    _check_agents(agents)
    _check_traffic(traffic_erl)
    if agents == 0:
        return 1.0 if traffic_erl > 0.0 else 0.0
    return min(1.0, traffic_erl / agents)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """M/M/N+M figures for one number of agents; shares are of all offered calls unless named.

    ``service_level``: answered within the threshold / offered. ``service_level_waiting``: of
    the callers who had to wait (all agents busy on arrival), the share answered within the
    threshold. ``asa_s``: mean wait of the answered calls (zero waits included).
    ``mean_wait_s``: mean time in queue of all offered calls, abandoned ones included.
    ``abandon_within``: the share of offered calls that abandon within the threshold.
    """

    p_wait: float
    abandon_rate: float
    service_level: float
    service_level_waiting: float
    asa_s: float
    mean_wait_s: float
    occupancy: float
    abandon_within: float = 0.0

    @property
    def service_level_kpi(self) -> float:
        """Answered within the threshold / (offered - abandoned within it): the service level
        as the KPI board counts it (``router.stats.kpi``: early hang-ups count neither way)."""
        rest = 1.0 - self.abandon_within
        return self.service_level / rest if rest > 0.0 else 0.0


def erlang_a(
    agents: int, arrival_rate_per_s: float, aht_s: float, patience_s: float, within_s: float
) -> ErlangA:
    """Erlang A (M/M/N+M) with mean patience ``patience_s``; see the module docstring."""
    _check_agents(agents)
    _check_non_negative("arrival_rate_per_s", arrival_rate_per_s)
    _check_positive("aht_s", aht_s)
    _check_non_negative("within_s", within_s)
    if not patience_s > 0.0:
        raise ValueError(f"patience_s {patience_s} must be a positive number (or inf)")
    lam, theta = arrival_rate_per_s, 1.0 / patience_s
    if lam == 0.0:
        return ErlangA(0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0)
    if math.isinf(patience_s):
        return _erlang_c_as_a(agents, lam * aht_s, aht_s, within_s)
    if agents == 0:
        # Nobody is answered: every caller waits until its patience runs out.
        return ErlangA(1.0, 1.0, 0.0, 0.0, 0.0, patience_s, 1.0, -math.expm1(-theta * within_s))
    n_mu = agents / aht_s
    blocking = erlang_b(agents - 1, lam * aht_s)
    if blocking > 0.0:
        w = _Waits(lam, theta, n_mu, within_s)
        # ε in the integrals' scale: ε / e^top = 1 / (B·e^top); when it overflows, nobody waits.
        log_scale = w.top + math.log(blocking)
        if log_scale > -700.0:
            eps = math.exp(-log_scale)
            denom = eps + lam * w.j
            abandon = w.abandoned / denom
            return ErlangA(
                p_wait=lam * w.j / denom,
                abandon_rate=abandon,
                service_level=(eps + w.answered_within) / denom,
                service_level_waiting=w.answered_within / (lam * w.j),
                asa_s=w.answered_wait / (eps + w.answered),
                mean_wait_s=abandon * patience_s,  # Little: θ·E[queue] = λ·P(abandon)
                occupancy=min(1.0, lam * (1.0 - abandon) * aht_s / agents),
                abandon_within=w.abandoned_within / denom,
            )
    # So many agents that nobody waits, in float precision.
    return ErlangA(0.0, 0.0, 1.0, 1.0, 0.0, 0.0, lam * aht_s / agents)


class _Waits:
    """The integrals of the virtual wait's density, each divided by e^top (g's peak).

    Each integrand is log-concave (log g is concave, and so are -θx, log x and
    log(1 - e^(-θx))), which is what ``integrate`` needs.
    """

    def __init__(self, lam: float, theta: float, n_mu: float, within_s: float) -> None:
        self._lam, self._theta, self._n_mu, self.top = lam, theta, n_mu, 0.0
        peak = math.log(lam / n_mu) / theta if lam > n_mu else 0.0
        self.top = self._log_g(peak)
        upper = edge(self._log_g, peak, 0.0, 1.0)  # every integrand's peak lies before it
        self.j = integrate(self._log_g, upper=upper)
        #: callers answered after waiting, and their waits; answered or gone within the threshold
        self.answered = integrate(self._log_answered, upper=upper)
        self.answered_wait = integrate(self._log_answered_wait, upper=upper)
        self.abandoned = integrate(self._log_abandoned, upper=upper)
        self.answered_within = integrate(self._log_answered, upper=upper, until=within_s)
        self.abandoned_within = integrate(self._log_abandoned, upper=upper, until=within_s)

    def _log_g(self, x: float) -> float:
        # log g(x) - top, with g(x) = exp(λ·H(x) - Nμ·x)
        lam, theta = self._lam, self._theta
        return -(lam / theta) * math.expm1(-theta * x) - self._n_mu * x - self.top

    def _log_answered(self, x: float) -> float:  # λ·e^(-θx)·g: still there after x
        return math.log(self._lam) - self._theta * x + self._log_g(x)

    def _log_answered_wait(self, x: float) -> float:  # x·λ·e^(-θx)·g
        return math.log(x) + self._log_answered(x) if x > 0.0 else -math.inf

    def _log_abandoned(self, x: float) -> float:  # λ·(1 - e^(-θx))·g: gone before x
        if x <= 0.0:
            return -math.inf
        return math.log(self._lam) + math.log(-math.expm1(-self._theta * x)) + self._log_g(x)


def _erlang_c_as_a(agents: int, traffic: float, aht_s: float, within_s: float) -> ErlangA:
    p_wait = erlang_c(agents, traffic)
    sl = service_level(agents, traffic, aht_s, within_s)
    waiting = 0.0 if agents <= traffic else -math.expm1(-(agents - traffic) * within_s / aht_s)
    asa = asa_s(agents, traffic, aht_s)
    return ErlangA(p_wait, 0.0, sl, waiting, asa, asa, occupancy(agents, traffic))


@dataclass(frozen=True, slots=True)
class Staffing:
    """The fewest agents meeting a target, and the figures for that number.

    ``agents`` are needed on the phones; ``scheduled`` = ceil(agents / (1 - shrinkage)).
    ``abandon_rate`` and ``service_level_waiting`` are None without a patience (Erlang C).
    """

    agents: int
    scheduled: int
    traffic_erl: float
    service_level: float
    asa_s: float
    p_wait: float
    occupancy: float
    abandon_rate: float | None = None
    service_level_waiting: float | None = None


def agents_needed(
    calls: float,
    interval_s: float,
    aht_s: float,
    target: float,
    within_s: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
    patience_s: float | None = None,
) -> Staffing:
    """The smallest N whose service level is at least ``target`` and occupancy at most
    ``max_occupancy``: Erlang C, or Erlang A with ``patience_s``. No calls: zero agents."""
    _check_staffing(calls, interval_s, aht_s, target, within_s, max_occupancy, shrinkage)
    if patience_s is not None:
        _check_positive("patience_s", patience_s)
    rate = calls / interval_s
    traffic = rate * aht_s
    if traffic > MAX_TRAFFIC_ERL:
        raise ValueError(
            f"{calls:g} calls of {aht_s:g} s in {interval_s:g} s are {traffic:.0f} erlangs; "
            f"this computes up to {MAX_TRAFFIC_ERL} (split the desk into teams)"
        )
    if calls == 0:
        waiting = None if patience_s is None else 1.0
        return Staffing(0, 0, 0.0, 1.0, 0.0, 0.0, 0.0, None if waiting is None else 0.0, waiting)

    def figures(n: int) -> Staffing:
        return _figures(n, rate, aht_s, within_s, patience_s)

    def enough(n: int) -> bool:
        f = figures(n)
        return f.service_level >= target and (max_occupancy is None or f.occupancy <= max_occupancy)

    low = 0 if patience_s is not None else math.floor(traffic)  # known not enough
    best = figures(_fewest(enough, low))
    # round() absorbs float noise such as 14 / 0.7 = 20.000000000000004.
    scheduled = math.ceil(round(best.agents / (1.0 - shrinkage), 9))
    return Staffing(
        best.agents, scheduled, best.traffic_erl, best.service_level, best.asa_s,
        best.p_wait, best.occupancy, best.abandon_rate, best.service_level_waiting,
    )  # fmt: skip


def _check_staffing(
    calls: float,
    interval_s: float,
    aht_s: float,
    target: float,
    within_s: float,
    max_occupancy: float | None,
    shrinkage: float,
) -> None:
    _check_non_negative("calls", calls)
    _check_positive("interval_s", interval_s)
    _check_positive("aht_s", aht_s)
    _check_non_negative("within_s", within_s)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target {target} must be a share between 0 and 1, e.g. 0.8")
    if max_occupancy is not None and not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"max_occupancy {max_occupancy} must be in (0, 1], e.g. 0.85")
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage {shrinkage} must be in [0, 1), e.g. 0.3")


def _figures(
    n: int, rate: float, aht_s: float, within_s: float, patience_s: float | None
) -> Staffing:
    """The figures with ``n`` agents (none scheduled beyond them): Erlang C or A."""
    traffic = rate * aht_s
    if patience_s is None:
        return Staffing(
            n, n, traffic, service_level(n, traffic, aht_s, within_s),
            asa_s(n, traffic, aht_s), erlang_c(n, traffic), occupancy(n, traffic),
        )  # fmt: skip
    a = erlang_a(n, rate, aht_s, patience_s, within_s)
    return Staffing(
        n, n, traffic, a.service_level, a.asa_s, a.p_wait, a.occupancy,
        a.abandon_rate, a.service_level_waiting,
    )  # fmt: skip


def _fewest(enough: Callable[[int], bool], low: int) -> int:
    """The smallest n above ``low`` (known not enough) that is ``enough``. Both the service
    level and the occupancy only improve with more agents: double, then bisect."""
    high = max(1, low + 1)
    while not enough(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


def _check_agents(agents: int) -> None:
    if agents < 0:
        raise ValueError(f"agents {agents} must be zero or more")


def _check_traffic(traffic_erl: float) -> None:
    _check_non_negative("traffic_erl", traffic_erl)


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0 or math.isinf(value):
        raise ValueError(f"{name} {value} must be a positive number")


def _check_non_negative(name: str, value: float) -> None:
    if not value >= 0.0 or math.isinf(value):
        raise ValueError(f"{name} {value} must be zero or a positive number")
