"""A tenant's limits hold across the processes of one service: two ``RateLimits`` on one
database stand for two processes here (``tests/e2e/test_shared_limits.py`` runs two real
servers)."""

from __future__ import annotations

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
    async def test_the_processes_admit_the_quota_between_them(
        self, settings, database, clock, tenant
    ):
        processes = two_processes(settings, database, clock, tenant_requests_per_minute=1000)

        assert await admitted_of(processes, tenant, 1500) == 1000

    async def test_a_small_quota_is_shared_exactly(self, settings, database, clock, tenant):
        processes = two_processes(settings, database, clock, tenant_requests_per_minute=5)

        assert await admitted_of(processes, tenant, 12) == 5

    async def test_remaining_counts_every_process(self, settings, database, clock, tenant):
        first, second = two_processes(settings, database, clock, tenant_requests_per_minute=10)
        for _ in range(3):
            await first.admit_request({}, tenant.tenant_id, None)
        scope: dict = {}

        await second.admit_request(scope, tenant.tenant_id, None)

        assert dict(scope[SCOPE_HEADERS])[b"ratelimit-remaining"] == b"6"

    async def test_each_window_starts_afresh_for_every_process(
        self, settings, database, clock, tenant
    ):
        processes = two_processes(settings, database, clock, tenant_requests_per_minute=4)
        assert await admitted_of(processes, tenant, 6) == 4

        clock.advance(30)  # the next minute

        assert await admitted_of(processes, tenant, 6) == 4

    async def test_tenants_have_their_own_share(
        self, settings, database, clock, tenant, other_tenant
    ):
        processes = two_processes(settings, database, clock, tenant_requests_per_minute=3)
        assert await admitted_of(processes, tenant, 5) == 3

        assert await admitted_of(processes, other_tenant, 5) == 3

    async def test_a_spent_window_is_not_claimed_again(
        self, settings, database, clock, tenant, statements
    ):
        processes = two_processes(settings, database, clock, tenant_requests_per_minute=2)
        assert await admitted_of(processes, tenant, 4) == 2
        statements.clear()

        assert await admitted_of(processes, tenant, 20) == 0

        assert statements == []


class TestConcurrency:
    async def test_the_processes_hold_the_limit_between_them(
        self, settings, database, clock, tenant
    ):
        first, second = two_processes(settings, database, clock, tenant_concurrent_requests=3)
        pool = first.default_pool

        taken = [await first.pools.take(tenant.tenant_id, pool) for _ in range(2)]
        taken += [await second.pools.take(tenant.tenant_id, pool) for _ in range(2)]

        assert taken == [True, True, True, False]
        assert not await first.pools.take(tenant.tenant_id, pool)
        await first.close()
        await second.close()

    async def test_a_freed_slot_goes_to_another_process_once_given_back(
        self, settings, database, clock, tenant
    ):
        first, second = two_processes(settings, database, clock, tenant_concurrent_requests=1)
        pool = first.default_pool
        assert await first.pools.take(tenant.tenant_id, pool)

        first.pools.give_back(tenant.tenant_id, pool)
        assert not await second.pools.take(tenant.tenant_id, pool)  # still leased by the first
        # The keeper looks once a second and keeps what the last second needed: the slot goes
        # back at its second look; the second process asks again a second after it last did.
        await first.pools.renew()
        await first.pools.renew()
        clock.advance(KEEP_SECONDS)

        assert await second.pools.take(tenant.tenant_id, pool)
        await first.close()
        await second.close()

    async def test_the_slots_of_a_stopped_process_come_back_when_its_lease_expires(
        self, settings, database, clock, tenant
    ):
        stopped, second = two_processes(settings, database, clock, tenant_concurrent_requests=2)
        pool = stopped.default_pool
        assert await stopped.pools.take(tenant.tenant_id, pool)
        assert await stopped.pools.take(tenant.tenant_id, pool)
        assert not await second.pools.take(tenant.tenant_id, pool)

        clock.advance(LEASE_SECONDS + 1)

        assert await second.pools.take(tenant.tenant_id, pool)
        await second.close()

    async def test_a_process_that_closes_gives_its_slots_back_at_once(
        self, settings, database, clock, tenant
    ):
        first, second = two_processes(settings, database, clock, tenant_concurrent_requests=1)
        pool = first.default_pool
        assert await first.pools.take(tenant.tenant_id, pool)

        await first.close()

        assert await second.pools.take(tenant.tenant_id, pool)
        await second.close()

    async def test_a_full_pool_is_not_asked_again_within_a_second(
        self, settings, database, clock, tenant, statements
    ):
        first, second = two_processes(settings, database, clock, tenant_concurrent_requests=1)
        pool = first.default_pool
        assert await first.pools.take(tenant.tenant_id, pool)
        assert not await second.pools.take(tenant.tenant_id, pool)
        statements.clear()

        refusals = [await second.pools.take(tenant.tenant_id, pool) for _ in range(20)]

        assert refusals == [False] * 20
        assert statements == []
        await first.close()
        await second.close()

    async def test_remaining_counts_the_slots_other_processes_hold(
        self, settings, database, clock, tenant
    ):
        first, second = two_processes(settings, database, clock, tenant_concurrent_requests=5)
        pool = first.default_pool
        assert await first.pools.take(tenant.tenant_id, pool)
        assert await first.pools.take(tenant.tenant_id, pool)

        assert await second.pools.take(tenant.tenant_id, pool)

        assert second.pools.remaining(tenant.tenant_id, pool) == 2
        await first.close()
        await second.close()
