"""When to try a failed execution again: a small immutable policy, tested on its own."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

TRANSIENT_CATEGORIES = frozenset({50, 60, 61})
LIMIT_CATEGORY = 70
# The request itself is at fault (permission, value, field, business rule, not found, method,
# malformed): it would fail the same way again.
DETERMINISTIC_CATEGORIES = frozenset({10, 11, 20, 21, 22, 23, 30, 40, 45, 90})
# The client errors that may pass: a timeout, a conflict with a concurrent change, too early.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 409, 425})
MAX_DOUBLINGS = 64  # far past any cap, and still a finite float


class Outcome(Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # deterministic: the same request would fail the same way again
    TRANSIENT = "transient"  # contention, internal or temporary errors, timeouts
    LIMITED = "limited"  # the tenant's rate limit: wait and run again, never a failure


def classify(status: int, reason_codes: list[int], reports_failure: bool = False) -> Outcome:
    """Classify a synchronous answer: 2xx succeeds; 429 and category 70 are a limit to wait out;
    a deterministic failure (categories 10-45 and 90, or a 4xx other than 408, 409 and 425)
    fails at once, whatever else the answer says; 5xx, those three statuses and categories
    50/60/61 are transient; anything else fails. ``reason_codes`` are eight-digit codes or bare
    categories: only the last two digits count. ``reports_failure``: the body says
    ``"success": false``, as Zuora's answers of 200 to failed calls do; such a 2xx is judged by
    its reasons."""
    categories = {code % 100 for code in reason_codes}
    if 200 <= status < 300 and not reports_failure:
        return Outcome.SUCCEEDED
    if status == 429 or LIMIT_CATEGORY in categories:
        return Outcome.LIMITED
    if categories & DETERMINISTIC_CATEGORIES:
        return Outcome.FAILED
    if 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES:
        return Outcome.FAILED
    if status >= 400 or categories & TRANSIENT_CATEGORIES:
        return Outcome.TRANSIENT
    return Outcome.FAILED


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    jitter: float = 0.2  # each delay varies by up to +-20%, so retries of a burst spread out

    def next_run(
        self, attempt: int, now: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When attempt ``attempt`` (1-based, just finished) should be followed by another, or
        None when attempts are spent. No delay exceeds ``max_delay``, jitter included."""
        if attempt >= self.max_attempts:
            return None
        # Seconds as a float: a timedelta doubled some fifty times overflows.
        doubling = 2.0 ** min(attempt - 1, MAX_DOUBLINGS)
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        seconds = self.base_delay.total_seconds() * doubling * spread
        return now + timedelta(seconds=min(seconds, self.max_delay.total_seconds()))
