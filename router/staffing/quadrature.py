"""Integrals of log-concave functions, for the Erlang A formulas; pure.

A log-concave function has one peak and falls off on each side at least exponentially.
``integrate`` finds the peak (golden section), the range where the function is within
e^-``LOG_CUTOFF`` of it (what lies beyond is far below float noise next to the mass around the
peak), and takes composite 10-point Gauss-Legendre over that range, halving any panel where the
10- and 5-point rules disagree by more than 1e-13 of the whole: a caller's patience and the
agents' speed can be two very different time scales, and the short one gets its points.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["LOG_CUTOFF", "edge", "integrate"]

LOG_CUTOFF = 60.0
_PANELS = 32
# A panel is split while its error estimate exceeds this share of the whole integral.
_TOLERANCE = 1e-13
_MAX_DEPTH = 30
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0

LogF = Callable[[float], float]


def integrate(log_f: LogF, *, upper: float, until: float = math.inf) -> float:
    """∫ from 0 to ``until`` of exp(log_f(x)), for a concave ``log_f`` (-inf allowed) whose
    peak lies in [0, ``upper``]."""
    peak = _peak(log_f, 0.0, upper)
    top = log_f(peak)
    if top == -math.inf:
        return 0.0
    lo = edge(log_f, peak, top, -1.0)
    hi = min(edge(log_f, peak, top, 1.0), until)
    if hi <= lo:
        return 0.0
    width = (hi - lo) / _PANELS
    panels = [_panel(log_f, lo + i * width, lo + (i + 1) * width) for i in range(_PANELS)]
    tol = _TOLERANCE * abs(sum(fine for _, _, fine, _ in panels))
    return sum(_refined(log_f, *panel, tol=tol, depth=0) for panel in panels)


def _panel(log_f: LogF, a: float, b: float) -> tuple[float, float, float, float]:
    """(a, b, the 10-point rule, its error estimate: the gap to the 5-point rule)."""
    mid, half = (a + b) / 2.0, (b - a) / 2.0
    fine = half * sum(w * math.exp(log_f(mid + node * half)) for node, w in _FINE)
    coarse = half * sum(w * math.exp(log_f(mid + node * half)) for node, w in _COARSE)
    return a, b, fine, abs(fine - coarse)


def _refined(
    log_f: LogF, a: float, b: float, fine: float, error: float, *, tol: float, depth: int
) -> float:
    """A panel whose estimate is not yet within ``tol`` is taken again as two halves; this
    is where a second time scale (a short patience beside long calls) gets its points."""
    if error <= tol or depth >= _MAX_DEPTH:
        return fine
    m = (a + b) / 2.0
    return sum(
        _refined(log_f, *_panel(log_f, x, y), tol=tol, depth=depth + 1) for x, y in ((a, m), (m, b))
    )


def edge(log_f: LogF, peak: float, top: float, direction: float) -> float:
    """Where concave ``log_f`` falls ``LOG_CUTOFF`` below ``top`` (its value at ``peak``),
    to the right (``direction`` 1) or to the left (-1, at 0 at the lowest)."""
    floor = top - LOG_CUTOFF
    step = max(abs(peak), 1.0) * 1e-3
    near, far = peak, max(0.0, peak + direction * step)
    while log_f(far) > floor:
        if far == 0.0:
            return 0.0
        near, far = far, max(0.0, far + direction * step)
        step *= 2.0
    # Within a thousandth of the distance from the peak is close enough for a cut-off.
    while abs(far - near) > 1e-3 * abs(far - peak):
        mid = (near + far) / 2.0
        near, far = (mid, far) if log_f(mid) > floor else (near, mid)
    return far


def _peak(log_f: LogF, lo: float, hi: float) -> float:
    """The maximum of a concave function on [lo, hi], by golden-section search."""
    a, b = lo, hi
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = log_f(c), log_f(d)
    for _ in range(60):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = log_f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = log_f(d)
    best = (a + b) / 2.0
    # A peak at an end of the range (a monotone function) is the end itself.
    return max((lo, hi, best), key=log_f)


def _gauss_legendre(order: int) -> list[tuple[float, float]]:
    """Nodes and weights on [-1, 1] by Newton's method on the Legendre polynomial."""
    rule = []
    for i in range(1, order + 1):
        x = math.cos(math.pi * (i - 0.25) / (order + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, order + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = order * (x * p1 - p0) / (x * x - 1.0)
            dx = p1 / dp
            x -= dx
            if abs(dx) < 1e-16:
                break
        rule.append((x, 2.0 / ((1.0 - x * x) * dp * dp)))
    return rule


_FINE = _gauss_legendre(10)
_COARSE = _gauss_legendre(5)
