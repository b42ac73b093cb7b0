"""Failed sign-ins, counted per user and per client address over a sliding window.

After ``max_failures`` failures of one user (tenant and email) within ``window``, or five times
as many from one client address, further sign-ins of that user or from that address are
refused until the oldest failure leaves the window, without checking the password: guessing
stays slow even against the argon2 hashes of weak passwords. Counts live in the process (each
API process counts on its own) and are forgotten on restart; a success clears its user's count.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable

from asyncgate.config import Settings
from asyncgate.http.errors import LimitExceeded, Resource

ADDRESS_FACTOR = 5
MAX_KEYS = 100_000

Key = tuple[str, ...]


class TooManySignIns(LimitExceeded):
    def __init__(self, retry_after: float) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins: try again in {minutes} minute{'s' if minutes > 1 else ''}",
            resource=Resource.AUTH,
            status=429,
            headers={"Retry-After": str(math.ceil(retry_after))},
        )


def user_key(tenant_name: str, email: str) -> Key:
    return ("user", tenant_name.strip(), email.strip().lower())


def address_key(address: str | None) -> Key:
    return ("address", address or "")


class SignInThrottle:
    def __init__(
        self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[Key, deque[float]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInThrottle:
        return cls(
            settings.console_sign_in_max_failures,
            settings.console_sign_in_lockout.total_seconds(),
        )

    def _limit(self, key: Key) -> int:
        return self.max_failures * (ADDRESS_FACTOR if key[0] == "address" else 1)

    def _recent(self, key: Key, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, keys: Iterable[Key]) -> None:
        """Refuses (:class:`TooManySignIns`) when any of ``keys`` failed too often lately."""
        now = self._clock()
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self._limit(key):
                raise TooManySignIns(failures[-self._limit(key)] + self.window - now)

    def failed(self, keys: Iterable[Key]) -> None:
        now = self._clock()
        if len(self._failures) >= MAX_KEYS:
            self._failures = {
                key: failures for key, failures in self._failures.items() if self._recent(key, now)
            }
            if len(self._failures) >= MAX_KEYS:  # memory stays bounded, whatever floods it
                self._failures.clear()
        for key in keys:
            failures = self._recent(key, now)
            failures.append(now)
            self._failures[key] = failures

    def succeeded(self, key: Key) -> None:
        self._failures.pop(key, None)
