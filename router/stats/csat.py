"""CSAT and first-contact resolution from the counts a window holds; pure, no I/O.

- CSAT: the share of survey answers that are satisfied (4 or 5 of 1-5), and their mean.
- FCR: a resolve of a verified customer's contact is first-contact when the same account
  does not come back on the same team within the watch (7 days). The store counts both
  ends when they happen, without reading history (``queues.outcomes``): ``fcr_resolved``
  in the minute of the resolve, ``fcr_returned`` in the minute the account came back. Over
  a window FCR = 1 - returned / resolved: in a steady state exactly the share of resolves
  that did not come back; over a window shorter than the watch it is a running estimate
  (returns counted now may follow resolves before the window), so a quiet hour after a
  busy one can count more returns than resolves: shown as 0, never below.
"""

from __future__ import annotations

__all__ = ["csat", "csat_mean", "fcr"]


def csat(answered: int, satisfied: int) -> float | None:
    """Satisfied answers / answers; None without answers."""
    return satisfied / answered if answered else None


def csat_mean(answered: int, score_sum: int) -> float | None:
    """The mean score (1-5); None without answers."""
    return score_sum / answered if answered else None


def fcr(resolved: int, returned: int) -> float | None:
    """1 - returned / resolved, within 0..1; None without a counted resolve."""
    if not resolved:
        return None
    return min(1.0, max(0.0, 1.0 - returned / resolved))
