"""Rising themes: this week's volume far above the theme's usual.

The statistic: this calendar week's count so far (weeks start Monday 00:00 UTC), ``k``,
against a Poisson distribution whose mean is the theme's mean weekly count over the
``BASELINE_WEEKS`` full weeks before, ``λ`` (at least ``BASELINE_FLOOR``, so a theme that
was silent needs more than a couple of comments). The theme is rising when the one-sided
p-value P(X ≥ k | λ) is below ``P_VALUE`` and ``k`` is at least ``MIN_COUNT``. A week in
progress only makes the test stricter: the count can only grow until Sunday.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BASELINE_WEEKS = 4
BASELINE_FLOOR = 1.0
P_VALUE = 0.01
MIN_COUNT = 5


def week_start(at: datetime) -> datetime:
    """Monday 00:00 UTC of the week ``at`` falls in."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed in log space (no scipy needed)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    below = sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k))
    return max(0.0, 1.0 - below)


@dataclass(frozen=True)
class Test:
    """One theme's test for the current week."""

    count: int
    baseline: float  # mean weekly count over the previous BASELINE_WEEKS weeks
    p_value: float

    @property
    def rising(self) -> bool:
        return self.count >= MIN_COUNT and self.p_value < P_VALUE


def test(this_week: int, previous_weeks: Sequence[int]) -> Test:
    """Test ``this_week``'s count against the weeks before it (oldest first; the last
    ``BASELINE_WEEKS`` are used)."""
    window = list(previous_weeks)[-BASELINE_WEEKS:]
    baseline = sum(window) / BASELINE_WEEKS
    return Test(this_week, baseline, poisson_tail(this_week, max(baseline, BASELINE_FLOOR)))
