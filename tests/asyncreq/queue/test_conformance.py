"""What every request queue does, whichever database is behind it.

The suite runs against the queue of the backend under test (``make test`` runs it on SQLite
and on PostgreSQL); a new implementation passes it unchanged. It speaks to the queue through
``RequestQueue`` only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, false, update

from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.queue import Lease, RequestQueue
from asyncgate.config import Settings
from asyncgate.db.base import new_uuid, utcnow
from asyncgate.db.engine import Database
from asyncgate.http.errors import BusinessRuleViolated, NotFound
from asyncgate.notifications.outbox import OutboxEvent
from tests.asyncreq.support import ASYNC_TRIALS, accept, accepted_row, trial
from tests.factories import TenantContext
from tests.support.database import queue_of

LEASE = timedelta(minutes=1)
NOTHING_KEPT = false()


def lease(owner: str = "worker-a") -> Lease:
    return Lease(owner, utcnow() + LEASE)


@pytest.fixture
def queue(app: Any) -> RequestQueue:
    return app.state.queue


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[RequestQueue]:
    """The queue as another process (a second worker, a restarted server) has it."""
    database = Database(settings)
    try:
        async with queue_of(database) as queue:
            yield queue
    finally:
        await database.dispose()


async def find(
    queue: RequestQueue, database: Database, tenant: TenantContext, request_id: str
) -> AsyncRequest | None:
    async with database.read_transaction() as session:
        return await queue.find(session, tenant.tenant_id, request_id)


async def claim_all(queue: RequestQueue, owner: str = "worker-a") -> list[str]:
    return [request.id for request in await queue.claim(lease(owner), 1000, utcnow())]


class TestAcceptAndFind:
    async def test_an_accepted_request_is_found_queued_by_its_tenant_only(
        self, queue, database, tenant, other_tenant
    ):
        request = accepted_row(tenant, track_id="track-1")
        assert await queue.accept(request) == request["id"]

        found = await find(queue, database, tenant, request["id"])
        assert found is not None
        assert (found.state, found.attempts, found.track_id) == (State.QUEUED, 0, "track-1")
        assert (found.method, found.path, found.body) == ("POST", request["path"], request["body"])
        assert await find(queue, database, other_tenant, request["id"]) is None
        assert await find(queue, database, tenant, str(uuid.uuid4())) is None

    async def test_a_claimed_request_is_found_running(self, queue, database, tenant):
        request = accepted_row(tenant)
        await queue.accept(request)
        await claim_all(queue)
        found = await find(queue, database, tenant, request["id"])
        assert found is not None
        assert (found.state, found.attempts, found.lease_owner) == (State.RUNNING, 1, "worker-a")

    async def test_a_request_accepted_before_a_crash_is_claimed_after_it(
        self, queue, tenant, other_process
    ):
        # The accepting process stops before any worker took the request: nothing is lost.
        request = accepted_row(tenant)
        await queue.accept(request)
        queue.close()

        assert await claim_all(other_process) == [request["id"]]
        assert await claim_all(other_process) == []


class TestClaiming:
    async def test_claims_take_due_requests_first_and_at_most_the_limit(self, queue, tenant):
        now = utcnow()
        sooner, later = (accepted_row(tenant, run_after=now - timedelta(seconds=s)) for s in (2, 1))
        for request in (sooner, later, accepted_row(tenant, run_after=now + timedelta(hours=1))):
            await queue.accept(request)

        first = await queue.claim(lease(), 1, utcnow())
        assert [(request.id, request.attempts) for request in first] == [(sooner["id"], 1)]
        assert await claim_all(queue) == [later["id"]]  # the third is not due

    async def test_concurrent_claims_take_each_request_exactly_once(
        self, queue, tenant, other_process
    ):
        requests = [accepted_row(tenant) for _ in range(40)]
        await asyncio.gather(*(queue.accept(request) for request in requests))

        async def claim_until_empty(claiming: RequestQueue, owner: str) -> list[str]:
            taken: list[str] = []
            while batch := await claiming.claim(lease(owner), 3, utcnow()):
                taken += [request.id for request in batch]
            return taken

        mine, theirs = await asyncio.gather(
            claim_until_empty(queue, "worker-a"), claim_until_empty(other_process, "worker-b")
        )
        assert sorted(mine + theirs) == sorted(request["id"] for request in requests)

    async def test_tidying_keeps_every_unclaimed_request(self, queue, tenant):
        claimed, waiting = accepted_row(tenant), accepted_row(tenant, run_after=utcnow())
        await queue.accept(claimed)
        await queue.claim(lease(), 1, utcnow())
        await queue.accept(waiting)
        await queue.tidy()
        assert await claim_all(queue) == [waiting["id"]]


class TestFencing:
    async def test_a_worker_whose_lease_was_lost_records_nothing(
        self, app, client, tenant, database, make_worker
    ):
        first, second = make_worker(), make_worker()
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        (claimed,) = await first.claim(10)
        async with database.transaction() as session:  # the first worker stalled
            await session.execute(
                update(AsyncRequest)
                .where(AsyncRequest.id == request_id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
        assert await second.reap_expired_leases() == 1
        assert [request.id for request in await second.claim(10)] == [request_id]

        await first.execute_batch([claimed])  # its outcome is fenced off
        found = await find(app.state.queue, database, tenant, request_id)
        assert found is not None
        assert (found.state, found.attempts, found.lease_owner) == (
            State.RUNNING,
            2,
            second.owner,
        )


class TestCancelling:
    async def test_a_queued_request_is_cancelled_and_never_claimed(self, queue, database, tenant):
        request = accepted_row(tenant)
        await queue.accept(request)
        async with database.transaction() as session:
            cancelled = await queue.cancel(session, tenant.tenant_id, request["id"], utcnow())
        assert (cancelled.state, cancelled.attempts) == (State.CANCELLED, 0)
        assert cancelled.completed_at is not None

        assert await claim_all(queue) == []
        found = await find(queue, database, tenant, request["id"])
        assert found is not None and found.state == State.CANCELLED

    async def test_a_retrying_request_is_cancelled(self, queue, database, tenant):
        request = accepted_row(tenant)
        await queue.accept(request)
        await claim_all(queue)
        async with database.transaction() as session:  # its attempt failed; a retry is due later
            await session.execute(
                update(AsyncRequest)
                .where(AsyncRequest.id == request["id"])
                .values(state=State.QUEUED, run_after=utcnow() + timedelta(hours=1))
            )
        async with database.transaction() as session:
            cancelled = await queue.cancel(session, tenant.tenant_id, request["id"], utcnow())
        assert (cancelled.state, cancelled.attempts) == (State.CANCELLED, 1)

    @pytest.mark.parametrize(
        "state", [State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELLED]
    )
    async def test_a_request_no_longer_queued_is_not_cancelled(
        self, queue, database, tenant, state
    ):
        request = accepted_row(tenant)
        await queue.accept(request)
        if state == State.CANCELLED:
            async with database.transaction() as session:
                await queue.cancel(session, tenant.tenant_id, request["id"], utcnow())
        else:
            await claim_all(queue)
        if state in (State.SUCCEEDED, State.FAILED):
            async with database.transaction() as session:
                await session.execute(
                    update(AsyncRequest)
                    .where(AsyncRequest.id == request["id"])
                    .values(state=state, completed_at=utcnow())
                )

        with pytest.raises(BusinessRuleViolated) as refused:
            async with database.transaction() as session:
                await queue.cancel(session, tenant.tenant_id, request["id"], utcnow())
        assert refused.value.status == 409
        found = await find(queue, database, tenant, request["id"])
        assert found is not None and found.state == state

    async def test_another_tenants_or_an_unknown_request_is_not_found(
        self, queue, database, tenant, other_tenant
    ):
        request = accepted_row(tenant)
        await queue.accept(request)
        for tenant_id, request_id in (
            (other_tenant.tenant_id, request["id"]),
            (tenant.tenant_id, str(uuid.uuid4())),
        ):
            with pytest.raises(NotFound):
                async with database.transaction() as session:
                    await queue.cancel(session, tenant_id, request_id, utcnow())
        assert await claim_all(queue) == [request["id"]]


class TestIdempotencyKeys:
    async def test_a_repeat_gets_the_first_request_and_stores_nothing(self, queue, tenant):
        first = accepted_row(tenant, idempotency_key="key-1")
        repeat = first | {"id": new_uuid()}
        assert await queue.accept(first) == first["id"]
        assert await queue.accept(repeat) == first["id"]
        assert await claim_all(queue) == [first["id"]]

    async def test_a_key_used_for_a_different_call_is_refused(self, queue, tenant):
        await queue.accept(accepted_row(tenant, idempotency_key="key-2"))
        with pytest.raises(BusinessRuleViolated) as refused:
            await queue.accept(accepted_row(tenant, idempotency_key="key-2", body=b"{}"))
        assert refused.value.status == 422

    async def test_repeats_at_once_store_one_request(self, queue, tenant):
        first = accepted_row(tenant, idempotency_key="key-3")
        ids = await asyncio.gather(
            *(queue.accept(first | {"id": new_uuid()}) for _ in range(10)), queue.accept(first)
        )
        assert len(set(ids)) == 1
        assert await claim_all(queue) == ids[:1]

    async def test_keys_are_per_tenant(self, queue, tenant, other_tenant):
        mine = accepted_row(tenant, idempotency_key="key-4")
        theirs = accepted_row(other_tenant, idempotency_key="key-4", body=mine["body"])
        assert await queue.accept(mine) == mine["id"]
        assert await queue.accept(theirs) == theirs["id"]


class TestBacklog:
    async def test_unfinished_requests_are_counted_by_state(self, queue, database, tenant):
        now = utcnow()
        await queue.accept(accepted_row(tenant, run_after=now - timedelta(minutes=2)))
        await queue.claim(lease(), 1, utcnow())
        for request in (
            accepted_row(tenant, run_after=now - timedelta(minutes=1)),
            accepted_row(tenant),
            accepted_row(tenant, run_after=now + timedelta(hours=1)),
        ):
            await queue.accept(request)
        async with database.read_transaction() as session:
            backlog = await queue.backlog(session, utcnow())
        assert (backlog.queued, backlog.retrying, backlog.running) == (2, 1, 1)
        assert backlog.first_due == now - timedelta(minutes=1)

    async def test_an_empty_queue_counts_nothing(self, queue, database):
        async with database.read_transaction() as session:
            backlog = await queue.backlog(session, utcnow())
        assert (backlog.queued, backlog.retrying, backlog.running, backlog.first_due) == (
            0,
            0,
            0,
            None,
        )

    async def test_requests_not_yet_listed_are_counted_per_tenant(
        self, queue, database, tenant, other_tenant
    ):
        await queue.accept(accepted_row(tenant))
        async with database.read_transaction() as session:
            mine = await queue.not_yet_listed(session, tenant.tenant_id)
            theirs = await queue.not_yet_listed(session, other_tenant.tenant_id)
        assert mine in (0, 1) and theirs == 0  # 0 where every request is listed at once
        await claim_all(queue)
        async with database.read_transaction() as session:
            assert await queue.not_yet_listed(session, tenant.tenant_id) == 0


class TestRetention:
    async def finished(self, queue: RequestQueue, database: Database, request: dict) -> None:
        await queue.accept(request)
        await claim_all(queue)
        async with database.transaction() as session:
            await session.execute(
                update(AsyncRequest)
                .where(AsyncRequest.id == request["id"])
                .values(state=State.SUCCEEDED, completed_at=utcnow())
            )

    async def test_old_finished_requests_go_with_what_they_caused(self, queue, database, tenant):
        old = accepted_row(tenant, created_at=utcnow() - timedelta(days=8), idempotency_key="key-5")
        recent = accepted_row(tenant)
        for request in (old, recent):
            await self.finished(queue, database, request)
        unfinished = accepted_row(tenant, created_at=utcnow() - timedelta(days=8))
        await queue.accept(unfinished)
        cutoff = utcnow() - timedelta(days=7)
        caused: list[list[str]] = []

        async def with_them(connection: Any, request_ids: list[str]) -> None:
            caused.append(request_ids)
            await connection.execute(
                delete(OutboxEvent).where(OutboxEvent.object_id.in_(request_ids))
            )

        assert await queue.tenants_with_finished_before(cutoff, NOTHING_KEPT) == [tenant.tenant_id]
        deleted = await queue.delete_finished(
            tenant.tenant_id, cutoff, NOTHING_KEPT, 100, with_them
        )

        assert deleted == 1 and caused == [[old["id"]]]
        assert await find(queue, database, tenant, old["id"]) is None
        assert await find(queue, database, tenant, recent["id"]) is not None
        assert await find(queue, database, tenant, unfinished["id"]) is not None
        # Its key is free again.
        again = old | {"id": new_uuid()}
        assert await queue.accept(again) == again["id"]

    async def test_a_kept_request_stays_however_old(self, queue, database, tenant):
        old = accepted_row(tenant, created_at=utcnow() - timedelta(days=8))
        await self.finished(queue, database, old)
        kept = AsyncRequest.id == old["id"]

        async def with_them(connection: Any, request_ids: list[str]) -> None:
            raise AssertionError("nothing is deleted")

        cutoff = utcnow() - timedelta(days=7)
        assert await queue.tenants_with_finished_before(cutoff, kept) == []
        assert await queue.delete_finished(tenant.tenant_id, cutoff, kept, 100, with_them) == 0
