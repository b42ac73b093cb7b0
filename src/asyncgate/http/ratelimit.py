"""Rate limits: per tenant on the synchronous API, per tenant on async accepts, per client and
per address on the token endpoint.

A tenant's request quotas and its concurrency pools hold across every process of the service:
each process takes shares of them from the database (see :mod:`asyncgate.http.limit_store`)
and spends them in memory, so that a check is a few integer operations and, once per share,
a short transaction. The other counters (async accepts, token requests) live in this process's
memory alone. Quotas use fixed windows aligned on the clock (a minute window resets at second
:00, an hour window on the hour, a day window at 00:00 UTC); a refused request is not counted
(see docs/rate-limits.md).

The checks (:meth:`RateLimits.admission`, the token endpoint's dependency, and the async accept
route, which calls :meth:`RateLimits.admit_accept` itself) record the verdict's headers in the
ASGI scope and :class:`RateLimitHeadersMiddleware` adds them to whatever answer leaves: a
success, an error raised by the handler, an idempotent replay or the 429 itself.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NamedTuple

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncgate.auth.dependencies import authenticate
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.db.base import new_id
from asyncgate.db.engine import Database
from asyncgate.http.concurrency import ConcurrencyPools, Pool
from asyncgate.http.errors import LimitExceeded, Resource
from asyncgate.http.limit_store import LimitStore, QuotaClaim

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
        for quota, window in zip(self.quotas, windows, strict=True):
            if now >= window.end:
                window.end = _window_end(now, quota)
                window.count = 0
        return _verdict(
            [
                (quota, quota.limit - window.count, window.end)
                for quota, window in zip(self.quotas, windows, strict=True)
            ],
            now,
            self.policies,
        )

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


@dataclass(slots=True)
class _Share:
    """This process's share of one quota window of one tenant."""

    end: int = 0  # when the window ends, in seconds since the epoch
    allowance: int = 0  # requests granted to this process and not yet admitted
    taken: int = 0  # what every process had been granted of the window at the last claim


class SharedQuotaCounter:
    """Counts each tenant's requests against fixed-window quotas that every process of the
    service shares: a process claims a part of a window (:data:`GRANT_FRACTION` of it, or
    what is left) and admits requests from it until it is spent, then claims again.

    The processes together never admit more than a quota; what a process was granted and
    did not admit by the window's end is lost, at most a fraction of the quota per process.
    """

    def __init__(self, quotas: Sequence[Quota], store: LimitStore, clock: Clock) -> None:
        self.quotas = tuple(quota for quota in quotas if quota.limit > 0)
        self.policies = ", ".join(f"{q.limit};w={q.seconds}" for q in self.quotas).encode()
        self.store = store
        self.clock = clock
        self._shares: dict[str, list[_Share]] = {}
        self._claiming = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.quotas)

    async def take(self, key: str) -> Verdict:
        """Counts one request of ``key`` when every window has room for it; the verdict says
        whether it had (``refused``), with the window closest to exhaustion."""
        now = self.clock.epoch()
        shares = self._shares.get(key)
        if shares is None:
            shares = self._shares[key] = [_Share() for _ in self.quotas]
        for quota, share in zip(self.quotas, shares, strict=True):
            if now >= share.end:
                share.end, share.allowance, share.taken = _window_end(now, quota), 0, 0
        if any(_claimable(quota, share) for quota, share in zip(self.quotas, shares, strict=True)):
            await self._claim(key, shares, now)
        verdict = self._verdict(shares, now)
        if not verdict.refused:
            for share in shares:
                share.allowance -= 1
        return verdict

    def give_back(self, key: str) -> None:
        """Undoes the count of :meth:`take` for a request refused by another limit."""
        for share in self._shares[key]:
            share.allowance += 1

    async def _claim(self, key: str, shares: list[_Share], now: float) -> None:
        async with self._claiming:
            claims = [
                (share, QuotaClaim(quota.seconds, share.end, quota.limit, _grant_size(quota)))
                for quota, share in zip(self.quotas, shares, strict=True)
                if _claimable(quota, share) and share.end > now
            ]
            if not claims:  # another request claimed meanwhile
                return
            answers = await self.store.claim_quota(key, [claim for _, claim in claims])
            for (share, claim), granted in zip(claims, answers, strict=True):
                if share.end == claim.window_end:
                    share.allowance += granted.granted
                    share.taken = granted.taken

    def _verdict(self, shares: list[_Share], now: float) -> Verdict:
        return _verdict(
            [
                # A window is spent for this process when its share is: no more is granted.
                (
                    quota,
                    quota.limit - share.taken + share.allowance if share.allowance else 0,
                    share.end,
                )
                for quota, share in zip(self.quotas, shares, strict=True)
            ],
            now,
            self.policies,
        )


def _verdict(windows: list[tuple[Quota, int, float]], now: float, policies: bytes) -> Verdict:
    """The verdict on each quota's window (its quota, requests left, end): the window closest
    to exhaustion, or, when some are spent, the one of them ending last."""
    tightest: Quota | None = None
    least_remaining, least_end, refused = 0, 0.0, False
    for quota, remaining, end in windows:
        if remaining <= 0:
            # Refused until every spent window has ended: report the one ending last.
            if not refused or end > least_end:
                tightest, least_remaining, least_end, refused = quota, 0, end, True
        elif not refused and (
            tightest is None
            or remaining < least_remaining
            or (remaining == least_remaining and end < least_end)
        ):
            tightest, least_remaining, least_end = quota, remaining, end
    assert tightest is not None, "checked without a quota (see enabled)"
    reset = max(1, math.ceil(least_end - now))
    return Verdict(tightest, least_remaining, reset, reset if refused else 0, policies)


GRANT_FRACTION = 100  # a claim takes at most this fraction of a quota


def _claimable(quota: Quota, share: _Share) -> bool:
    """Whether a claim may get more of the window: this process's share is spent, and the
    window is not (grants never come back, so a spent window stays spent until it ends)."""
    return not share.allowance and share.taken < quota.limit


def _grant_size(quota: Quota) -> int:
    return max(1, quota.limit // GRANT_FRACTION)


def _window_end(now: float, quota: Quota) -> int:
    return int((now // quota.seconds + 1) * quota.seconds)


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
        self.retry_after = retry_after


# The authenticated API: every route under these but the async accepts, which are not
# UnitOfWorkRoutes and count against a quota of their own.
LIMITED_PREFIXES = ("/v1/", "/notifications/")
# Zuora's "High-volume transactions" (its concurrent request limits guide) that asyncgate
# serves; every other request is in the ``Default`` pool.
HIGH_VOLUME_OPERATIONS = frozenset(
    {("POST", "/v1/accounts"), ("POST", "/v1/orders"), ("POST", "/v1/orders/preview")}
)


class RateLimits:
    """This process's limits and counters; one per application (``app.state.rate_limits``)."""

    def __init__(self, settings: Settings, database: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        store = LimitStore(database, holder=new_id())
        self.pools = ConcurrencyPools(store, clock)
        self.default_pool = Pool("Default", settings.tenant_concurrent_requests)
        self.high_volume_pool = Pool(
            "High-volume transactions", settings.tenant_high_volume_concurrent_requests
        )
        self.concurrency_retry_after = max(
            1, math.ceil(settings.tenant_concurrent_retry_after.total_seconds())
        )
        self.requests = SharedQuotaCounter(
            [
                Quota(settings.tenant_requests_per_minute, MINUTE),
                Quota(settings.tenant_requests_per_hour, HOUR),
                Quota(settings.tenant_requests_per_day, DAY),
            ],
            store,
            clock,
        )
        self.accepts = QuotaCounter([Quota(settings.async_accepts_per_minute, MINUTE)], clock)
        self.tokens_per_client = QuotaCounter(
            [Quota(settings.token_requests_per_minute_per_client, MINUTE)], clock
        )
        self.tokens_per_address = QuotaCounter(
            [Quota(settings.token_requests_per_minute_per_ip, MINUTE)], clock
        )

    def pool_of(self, method: str, path: str) -> Pool | None:
        """The concurrency pool of a request; None when its pool has no limit."""
        if (method, path) in HIGH_VOLUME_OPERATIONS:
            pool = self.high_volume_pool
        else:
            pool = self.default_pool
        return pool if pool.limit else None

    async def admit_execution(self, tenant_id: str) -> None:
        """Admit one execution of an async request of the tenant under its quotas alone (the
        worker bounds how many run at once), or raise :class:`RateLimited`."""
        if self.requests.enabled:
            verdict = await self.requests.take(tenant_id)
            if verdict.refused:
                raise _over_quota(verdict, "requests", Resource.REQUEST)

    async def admit_request(self, scope: Scope, tenant_id: str, pool: Pool | None) -> None:
        """Admit one synchronous request of the tenant or raise :class:`RateLimited`. An
        admitted request holds a slot of ``pool`` (None: its pool has no limit) until
        :meth:`finish_request`."""
        verdict = await self.requests.take(tenant_id) if self.requests.enabled else None
        if verdict is not None and verdict.refused:
            scope[SCOPE_HEADERS] = verdict.headers(counted=False) + self._pool_headers(
                tenant_id, pool
            )
            raise _over_quota(verdict, "requests", Resource.REQUEST)
        if pool is not None and not await self.pools.take(tenant_id, pool):
            if verdict is not None:
                self.requests.give_back(tenant_id)
            scope[SCOPE_HEADERS] = (
                verdict.headers(counted=False) if verdict is not None else []
            ) + self._pool_headers(tenant_id, pool)
            raise RateLimited(
                f"The tenant has {pool.limit} uncompleted requests, its limit; retry later",
                retry_after=self.concurrency_retry_after,
                resource=Resource.REQUEST,
                crud_code="REQUEST_EXCEEDED_LIMIT",
            )
        scope[SCOPE_HEADERS] = (
            verdict.headers(counted=True) if verdict is not None else []
        ) + self._pool_headers(tenant_id, pool)

    @asynccontextmanager
    async def admission(self, request: Request) -> AsyncIterator[None]:
        """The authenticated API's caller, authenticated and admitted under the tenant's
        quotas and concurrency, holding its concurrency slot for the block: what a
        :class:`~asyncgate.http.routing.UnitOfWorkRoute` passes before its transaction opens
        (admitting may write a share of a limit, which must not wait for that transaction's
        connection or, on SQLite, its write lock). Routes outside the authenticated API (the
        token endpoint, the console) pass freely."""
        path = request.scope["path"]
        if not path.startswith(LIMITED_PREFIXES):
            yield
            return
        principal = await authenticate(request)
        pool = self.pool_of(request.method, path)
        await self.admit_request(request.scope, principal.tenant_id, pool)
        try:
            yield
        finally:
            self.finish_request(principal.tenant_id, pool)

    def finish_request(self, tenant_id: str, pool: Pool | None) -> None:
        if pool is not None:
            self.pools.give_back(tenant_id, pool)

    def _pool_headers(self, tenant_id: str, pool: Pool | None) -> list[tuple[bytes, bytes]]:
        if pool is None:
            return []
        return [
            (b"concurrency-limit-type", pool.name.encode()),
            (b"concurrency-limit-limit", str(pool.limit).encode()),
            (b"concurrency-limit-remaining", str(self.pools.remaining(tenant_id, pool)).encode()),
        ]

    def admit_accept(self, scope: Scope, tenant_id: str) -> None:
        _admit(scope, [(self.accepts, tenant_id)], "asynchronous requests", Resource.ASYNC_REQUEST)

    def admit_token_request(self, scope: Scope, client_id: str | None, address: str | None) -> None:
        counters = [(self.tokens_per_address, address), (self.tokens_per_client, client_id)]
        _admit(scope, counters, "token requests", Resource.AUTH)

    async def close(self) -> None:
        """Gives this process's concurrency slots back to the other processes."""
        await self.pools.close()


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
