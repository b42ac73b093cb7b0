"""Rate limits: per tenant on the synchronous API, per tenant on async accepts, per client and
per address on the token endpoint.

Counters live in this process's memory and are used from its one event loop: a check costs a
dictionary lookup and a few integer operations, never a database access or a lock. Quotas use
fixed windows aligned on the clock (a minute window resets at second :00, an hour window on
the hour, a day window at 00:00 UTC), so a window is one count per key; a refused request is
not counted. Every process enforces the limits on its own view of the traffic (see
docs/rate-limits.md).

The checks (the dependencies below, and the async accept route, which calls
:meth:`RateLimits.admit_accept` itself) record the verdict's ``RateLimit-*`` headers in the ASGI
scope and :class:`RateLimitHeadersMiddleware` adds them to whatever answer leaves: a success, an
error raised by the handler, an idempotent replay or the 429 itself.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.http.errors import LimitExceeded, Resource

SCOPE_HEADERS = "asyncgate.rate_limit_headers"
MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SWEEP_MIN_KEYS = 1024
MAX_CLIENT_ID_LENGTH = 64  # longer ones are no client's: per-address counting still applies


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int  # requests per window; 0 turns the quota off
    seconds: int  # window length


class Verdict(NamedTuple):
    """What a quota check found: the window closest to exhaustion, and whether to refuse."""

    quota: Quota
    remaining: int  # before this request
    reset: int  # whole seconds until that window starts afresh
    retry_after: int  # 0 when the request fits
    policies: bytes  # every quota of the counter, as ``RateLimit-Limit`` lists them

    @property
    def refused(self) -> bool:
        return self.retry_after > 0

    def headers(self, counted: bool) -> list[tuple[bytes, bytes]]:
        return [
            # The IETF draft Zuora follows: the limit of the window closest to exhaustion, then
            # every policy (``2250000, 50000;w=60, 2250000;w=3600, 27000000;w=86400``).
            (b"ratelimit-limit", b"%d, %s" % (self.quota.limit, self.policies)),
            (b"ratelimit-remaining", str(self.remaining - counted).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
        ]


@dataclass(slots=True)
class _Window:
    """One quota's current window for one key."""

    end: float = 0.0  # when it ends, in seconds since the epoch
    count: int = 0  # requests counted in it


class QuotaCounter:
    """Counts requests per key against fixed-window quotas.

    ``check`` starts the key's windows afresh where they have ended and says whether one more
    request fits; ``count`` then records it. When the table has doubled since the last sweep,
    keys whose windows have all ended are dropped: memory follows the recent callers.
    """

    def __init__(self, quotas: Sequence[Quota], clock: Clock = SYSTEM_CLOCK) -> None:
        self.quotas = tuple(quota for quota in quotas if quota.limit > 0)
        self.policies = ", ".join(f"{q.limit};w={q.seconds}" for q in self.quotas).encode()
        self.clock = clock
        # key -> its window of each quota
        self._windows: dict[str, list[_Window]] = {}
        self._sweep_at = SWEEP_MIN_KEYS

    @property
    def enabled(self) -> bool:
        return bool(self.quotas)

    def check(self, key: str) -> Verdict:
        now = self.clock.epoch()
        windows = self._windows.get(key) or self._add(key)
        tightest: Quota | None = None
        least_remaining, least_end, refused = 0, 0.0, False
        for quota, window in zip(self.quotas, windows, strict=True):
            if now >= window.end:
                window.end = (now // quota.seconds + 1) * quota.seconds
                window.count = 0
            remaining = quota.limit - window.count
            if remaining <= 0:
                # Refused until every exhausted window has ended: report the one ending last.
                if not refused or window.end > least_end:
                    tightest, least_remaining, least_end, refused = quota, 0, window.end, True
            elif not refused and (
                tightest is None
                or remaining < least_remaining
                or (remaining == least_remaining and window.end < least_end)
            ):
                tightest, least_remaining, least_end = quota, remaining, window.end
        assert tightest is not None, "checked without a quota (see enabled)"
        reset = max(1, math.ceil(least_end - now))
        return Verdict(tightest, least_remaining, reset, reset if refused else 0, self.policies)

    def count(self, key: str) -> None:
        for window in self._windows[key]:
            window.count += 1

    def _add(self, key: str) -> list[_Window]:
        if len(self._windows) >= self._sweep_at:
            self._sweep()
        windows = [_Window() for _ in self.quotas]
        self._windows[key] = windows
        return windows

    def _sweep(self) -> None:
        """Forget keys whose every window has ended: their counts no longer matter."""
        now = self.clock.epoch()
        self._windows = {
            key: windows
            for key, windows in self._windows.items()
            if any(now < window.end for window in windows)
        }
        self._sweep_at = max(SWEEP_MIN_KEYS, 2 * len(self._windows))


class ConcurrencyLimit:
    """Uncompleted requests per key. Only keys with requests in flight take memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # 0 turns the limit off
        self._in_flight: dict[str, int] = {}

    def available(self, key: str) -> bool:
        return not self.limit or self._in_flight.get(key, 0) < self.limit

    def acquire(self, key: str) -> None:
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def release(self, key: str) -> None:
        left = self._in_flight[key] - 1
        if left:
            self._in_flight[key] = left
        else:
            del self._in_flight[key]


class RateLimited(LimitExceeded):
    """429, category 70, with the ``Retry-After`` a client (or the async worker) waits."""

    def __init__(
        self, message: str, *, retry_after: int, resource: Resource, crud_code: str | None = None
    ) -> None:
        super().__init__(
            message,
            resource=resource,
            headers={"Retry-After": str(retry_after)},
            crud_code=crud_code,
        )


class RateLimits:
    """This process's limits and counters; one per application (``app.state.rate_limits``)."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.concurrency = ConcurrencyLimit(settings.tenant_concurrent_requests)
        self.concurrency_retry_after = max(
            1, math.ceil(settings.tenant_concurrent_retry_after.total_seconds())
        )
        self.requests = QuotaCounter(
            [
                Quota(settings.tenant_requests_per_minute, MINUTE),
                Quota(settings.tenant_requests_per_hour, HOUR),
                Quota(settings.tenant_requests_per_day, DAY),
            ],
            clock,
        )
        self.accepts = QuotaCounter([Quota(settings.async_accepts_per_minute, MINUTE)], clock)
        self.tokens_per_client = QuotaCounter(
            [Quota(settings.token_requests_per_minute_per_client, MINUTE)], clock
        )
        self.tokens_per_address = QuotaCounter(
            [Quota(settings.token_requests_per_minute_per_ip, MINUTE)], clock
        )

    def admit_request(self, scope: Scope, tenant_id: str) -> None:
        """Admit one synchronous request of the tenant or raise :class:`RateLimited`; an
        admitted request holds a concurrency slot until :meth:`finish_request`."""
        verdict = self.requests.check(tenant_id) if self.requests.enabled else None
        if verdict is not None and verdict.refused:
            scope[SCOPE_HEADERS] = verdict.headers(counted=False)
            raise _over_quota(verdict, "requests", Resource.REQUEST)
        if not self.concurrency.available(tenant_id):
            if verdict is not None:
                scope[SCOPE_HEADERS] = verdict.headers(counted=False)
            raise RateLimited(
                f"The tenant has {self.concurrency.limit} uncompleted requests, its limit; "
                "retry later",
                retry_after=self.concurrency_retry_after,
                resource=Resource.REQUEST,
                crud_code="REQUEST_EXCEEDED_LIMIT",
            )
        if verdict is not None:
            self.requests.count(tenant_id)
            scope[SCOPE_HEADERS] = verdict.headers(counted=True)
        self.concurrency.acquire(tenant_id)

    def finish_request(self, tenant_id: str) -> None:
        self.concurrency.release(tenant_id)

    def admit_accept(self, scope: Scope, tenant_id: str) -> None:
        _admit(scope, [(self.accepts, tenant_id)], "asynchronous requests", Resource.ASYNC_REQUEST)

    def admit_token_request(self, scope: Scope, client_id: str | None, address: str | None) -> None:
        counters = [(self.tokens_per_address, address), (self.tokens_per_client, client_id)]
        _admit(scope, counters, "token requests", Resource.AUTH)


WINDOW_NAMES = {MINUTE: "minute", HOUR: "hour", DAY: "day"}


def _over_quota(verdict: Verdict, what: str, resource: Resource) -> RateLimited:
    return RateLimited(
        f"The limit of {verdict.quota.limit} {what} per {WINDOW_NAMES[verdict.quota.seconds]} "
        f"was reached; retry in {verdict.retry_after} seconds",
        retry_after=verdict.retry_after,
        resource=resource,
    )


def _admit(
    scope: Scope, counters: list[tuple[QuotaCounter, str | None]], what: str, resource: Resource
) -> None:
    """Count one request under every key, or under none when any key is over its quota.
    The headers report the key closest to exhaustion."""
    checked = [
        (counter, key, counter.check(key))
        for counter, key in counters
        if key is not None and counter.enabled
    ]
    if not checked:
        return
    refused = [verdict for _, _, verdict in checked if verdict.refused]
    if refused:
        verdict = max(refused, key=lambda v: v.retry_after)
        scope[SCOPE_HEADERS] = verdict.headers(counted=False)
        raise _over_quota(verdict, what, resource)
    for counter, key, _ in checked:
        counter.count(key)
    tightest = min((verdict for _, _, verdict in checked), key=lambda v: v.remaining)
    scope[SCOPE_HEADERS] = tightest.headers(counted=True)


# -- FastAPI dependencies -------------------------------------------------------------------------


async def limit_requests(request: Request, principal: CurrentPrincipal) -> AsyncIterator[None]:
    """Synchronous ``/v1`` routes: the tenant's quotas and concurrency. The concurrency slot
    is held until the request is over (its answer sent, or its error raised) and released on
    every path, cancellation included."""
    limits: RateLimits = request.app.state.rate_limits
    limits.admit_request(request.scope, principal.tenant_id)
    try:
        yield
    finally:
        limits.finish_request(principal.tenant_id)


async def limit_token_requests(request: Request) -> None:
    """The token endpoint, before the tenant is known: per client ID and per client address."""
    client_id = (await request.form()).get("client_id")
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID_LENGTH:
        client_id = None
    address = request.client.host if request.client is not None else None
    request.app.state.rate_limits.admit_token_request(request.scope, client_id, address)


# -- the headers on every answer ------------------------------------------------------------------


class RateLimitHeadersMiddleware:
    """Adds the ``RateLimit-*`` headers a limit dependency recorded to the answer, whichever
    part of the application produced it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = scope.get(SCOPE_HEADERS)
                if headers is not None:
                    message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
