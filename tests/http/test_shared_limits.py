"""A tenant's limits hold across the processes of one service: two ``RateLimits`` on one
database stand for two processes here (``tests/e2e/test_shared_limits.py`` runs two real
servers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.http.concurrency import KEEP_SECONDS
from asyncgate.http.limit_store import LEASE_SECONDS
from asyncgate.http.ratelimit import SCOPE_HEADERS, RateLimited, RateLimits
from tests.factories import TenantContext
from tests.http.test_ratelimit import START
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def two_processes(
    settings: Settings, database: Database, clock: ManualClock, **limits: int
) -> tuple[RateLimits, RateLimits]:
    quiet = {
        "tenant_requests_per_minute": 0,
        "tenant_requests_per_hour": 0,
        "tenant_requests_per_day": 0,
        "tenant_concurrent_requests": 0,
        "tenant_high_volume_concurrent_requests": 0,
    }
    shared = settings.model_copy(update=quiet | limits)
    return RateLimits(shared, database, clock), RateLimits(shared, database, clock)


@pytest.fixture
async def processes(settings, database, clock) -> AsyncIterator[Callable[..., tuple]]:
    """Makes two processes with the given limits; they give their slots back at the end."""
    made: list[RateLimits] = []

    def make(**limits: int) -> tuple[RateLimits, RateLimits]:
        pair = two_processes(settings, database, clock, **limits)
        made.extend(pair)
        return pair

    yield make
    for limits in made:
        await limits.close()


async def take(limits: RateLimits, tenant: TenantContext) -> bool:
    """A slot of the tenant's default pool in that process."""
    return await limits.pools.take(tenant.tenant_id, limits.default_pool)


async def admitted_of(processes: tuple[RateLimits, ...], tenant: TenantContext, tries: int) -> int:
    """Requests admitted of ``tries``, sent to each process in turn."""
    admitted = 0
    for attempt in range(tries):
        try:
            await processes[attempt % len(processes)].admit_request({}, tenant.tenant_id, None)
        except RateLimited:
            continue
        admitted += 1
    return admitted


class TestQuotas:
    async def test_the_processes_admit_the_quota_between_them(self, processes, tenant):
        processes = processes(tenant_requests_per_minute=1000)

        assert await admitted_of(processes, tenant, 1500) == 1000

    async def test_a_small_quota_is_shared_exactly(self, processes, tenant):
        processes = processes(tenant_requests_per_minute=5)

        assert await admitted_of(processes, tenant, 12) == 5

    async def test_remaining_counts_every_process(self, processes, tenant):
        first, second = processes(tenant_requests_per_minute=10)
        for _ in range(3):
            await first.admit_request({}, tenant.tenant_id, None)
        scope: dict = {}

        await second.admit_request(scope, tenant.tenant_id, None)

        assert dict(scope[SCOPE_HEADERS])[b"ratelimit-remaining"] == b"6"

    async def test_each_window_starts_afresh_for_every_process(self, processes, clock, tenant):
        processes = processes(tenant_requests_per_minute=4)
        assert await admitted_of(processes, tenant, 6) == 4

        clock.advance(30)  # the next minute

        assert await admitted_of(processes, tenant, 6) == 4

    async def test_tenants_have_their_own_share(self, processes, tenant, other_tenant):
        processes = processes(tenant_requests_per_minute=3)
        assert await admitted_of(processes, tenant, 5) == 3

        assert await admitted_of(processes, other_tenant, 5) == 3

    async def test_a_spent_window_is_not_claimed_again(self, processes, tenant, statements):
        processes = processes(tenant_requests_per_minute=2)
        assert await admitted_of(processes, tenant, 4) == 2
        statements.clear()

        assert await admitted_of(processes, tenant, 20) == 0

        assert statements == []


class TestConcurrency:
    async def test_the_processes_hold_the_limit_between_them(self, processes, tenant):
        first, second = processes(tenant_concurrent_requests=3)

        taken = [await take(first, tenant) for _ in range(2)]
        taken += [await take(second, tenant) for _ in range(2)]

        assert taken == [True, True, True, False]
        assert not await take(first, tenant)

    async def test_a_freed_slot_goes_to_another_process_once_given_back(
        self, processes, clock, tenant
    ):
        first, second = processes(tenant_concurrent_requests=1)
        assert await take(first, tenant)

        first.pools.give_back(tenant.tenant_id, first.default_pool)
        assert not await take(second, tenant)  # still leased by the first
        # The keeper looks once a second and keeps what the last second needed: the slot goes
        # back at its second look; the second process asks again a second after it last did.
        await first.pools.renew()
        await first.pools.renew()
        clock.advance(KEEP_SECONDS)

        assert await take(second, tenant)

    async def test_the_slots_of_a_stopped_process_come_back_when_its_lease_expires(
        self, processes, clock, tenant
    ):
        stopped, second = processes(tenant_concurrent_requests=2)
        assert await take(stopped, tenant)
        assert await take(stopped, tenant)
        assert not await take(second, tenant)

        clock.advance(LEASE_SECONDS + 1)

        assert await take(second, tenant)

    async def test_a_process_that_closes_gives_its_slots_back_at_once(self, processes, tenant):
        first, second = processes(tenant_concurrent_requests=1)
        assert await take(first, tenant)

        await first.close()

        assert await take(second, tenant)

    async def test_a_full_pool_is_not_asked_again_within_a_second(
        self, processes, tenant, statements
    ):
        first, second = processes(tenant_concurrent_requests=1)
        assert await take(first, tenant)
        assert not await take(second, tenant)
        statements.clear()

        refusals = [await take(second, tenant) for _ in range(20)]

        assert refusals == [False] * 20
        assert statements == []

    async def test_remaining_counts_the_slots_other_processes_hold(self, processes, tenant):
        first, second = processes(tenant_concurrent_requests=5)
        assert await take(first, tenant)
        assert await take(first, tenant)

        assert await take(second, tenant)

        assert second.pools.remaining(tenant.tenant_id, second.default_pool) == 2
