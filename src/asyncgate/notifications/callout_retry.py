"""When a failed callout attempt is followed by another: a small immutable policy.

Zuora's rule: a callout is attempted up to the tenant's maximum (once without ``calloutRetry``),
at least the tenant's minimum interval apart. A receiver that answers 429 or 503 with a longer
``Retry-After`` is waited for, up to the longest interval a tenant may choose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from asyncgate.notifications.callout_settings import min_interval
from asyncgate.notifications.models import CalloutSettings
from asyncgate.notifications.schemas import MAX_INTERVAL_MINUTES


@dataclass(frozen=True, slots=True)
class CalloutRetryPolicy:
    max_attempts: int
    interval: timedelta
    longest_wait: timedelta

    @classmethod
    def of(
        cls, max_attempts: int, settings: CalloutSettings, unit: timedelta
    ) -> CalloutRetryPolicy:
        """The policy of a delivery allowed ``max_attempts``, for a tenant with ``settings``,
        whose minutes last ``unit`` each (``ASYNCGATE_CALLOUT_INTERVAL_UNIT``)."""
        return cls(
            max_attempts=max_attempts,
            interval=min_interval(settings, unit),
            longest_wait=MAX_INTERVAL_MINUTES * unit,
        )

    def next_attempt(
        self, attempt: int, now: datetime, retry_after: timedelta | None = None
    ) -> datetime | None:
        """When attempt number ``attempt`` (1-based, just failed) should be followed by another,
        or None when the attempts are spent."""
        if attempt >= self.max_attempts:
            return None
        wait = self.interval
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.longest_wait))
        return now + wait
