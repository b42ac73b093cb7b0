"""The callout retry policy: how many attempts, and how far apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from asyncgate.notifications.callout_retry import CalloutRetryPolicy
from asyncgate.notifications.models import CalloutSettings

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def policy(max_attempts: int = 3, interval_minutes: int = 30) -> CalloutRetryPolicy:
    settings = CalloutSettings(max_attempts=5, min_interval_minutes=interval_minutes)
    return CalloutRetryPolicy.of(max_attempts, settings, MINUTE)


class TestCalloutRetryPolicy:
    def test_attempts_are_the_tenants_interval_apart_until_spent(self):
        three = policy(max_attempts=3, interval_minutes=30)

        assert three.next_attempt(1, NOW) == NOW + 30 * MINUTE
        assert three.next_attempt(2, NOW) == NOW + 30 * MINUTE
        assert three.next_attempt(3, NOW) is None

    def test_a_single_attempt_is_never_retried(self):
        assert policy(max_attempts=1).next_attempt(1, NOW) is None

    def test_a_longer_retry_after_is_waited_for(self):
        assert policy().next_attempt(1, NOW, retry_after=45 * MINUTE) == NOW + 45 * MINUTE

    def test_a_shorter_retry_after_does_not_shorten_the_interval(self):
        assert policy().next_attempt(1, NOW, retry_after=MINUTE) == NOW + 30 * MINUTE

    def test_retry_after_is_waited_for_at_most_the_longest_interval(self):
        a_week = timedelta(days=7)

        assert policy().next_attempt(1, NOW, retry_after=a_week) == NOW + 1440 * MINUTE

    def test_the_interval_unit_shortens_minutes(self):
        settings = CalloutSettings(max_attempts=3, min_interval_minutes=30)
        fast = CalloutRetryPolicy.of(3, settings, timedelta(milliseconds=10))

        assert fast.next_attempt(1, NOW) == NOW + timedelta(milliseconds=300)
