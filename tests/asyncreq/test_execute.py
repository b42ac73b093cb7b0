"""Executing queued requests with the worker's steps (claim, execute_batch, run_once,
reap_expired_leases): exactly-once effects, failures, retries, limits, timeouts and leases.

Where time drives what happens (retries falling due, leases expiring), the worker runs on a
manual clock that the test moves on. It starts once the requests are accepted: they are due
from then, by the real clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from asyncgate.asyncreq import transitions
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.retry import RetryPolicy
from asyncgate.asyncreq.transitions import LEASE_REASON, TIMEOUT_REASON
from asyncgate.billing.accounts.models import Account
from tests.asyncreq.support import (
    ASYNC_TRIALS,
    EXACT_RETRY,
    accept,
    advance_until_due,
    calls,
    events_of,
    stored,
    trial,
)
from tests.billing.api import account_body, stored_rows
from tests.http.probe import tally_of
from tests.support.clock import ManualClock

LEASE = timedelta(seconds=30)
# Ample for a quick request on a fresh connection, short beside a slow trial.
TIME_LIMIT = timedelta(milliseconds=150)


async def accounts_of(database, tenant) -> int:
    return (await stored_rows(database, tenant))[0]


def let_lease_expire(clock: ManualClock) -> None:
    clock.advance(LEASE + timedelta(milliseconds=1))


class TestSuccess:
    async def test_a_queued_account_creation_runs_exactly_once(
        self, client, fresh_tenant, database, worker
    ):
        request_id = await accept(client, fresh_tenant, "/v1/async/accounts", account_body())

        assert await worker.run_once() == 1
        assert await worker.run_once() == 0

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.SUCCEEDED, 1)
        assert request.response_status == 200
        answer = orjson.loads(request.response_body)
        assert answer["success"] is True
        assert request.lease_owner is None and request.completed_at is not None
        async with database.transaction() as session:
            account = await session.scalar(
                select(Account).where(Account.tenant_id == fresh_tenant.tenant_id)
            )
        assert account.id == answer["accountId"]
        assert await accounts_of(database, fresh_tenant) == 1
        assert len(await events_of(database, request_id)) == 1

    async def test_the_request_names_the_account_it_created(self, client, tenant, database, worker):
        request_id = await accept(client, tenant, "/v1/async/accounts", account_body())
        await worker.run_once()
        request = await stored(database, request_id)
        assert request.resource_id == orjson.loads(request.response_body)["accountId"]

    async def test_a_declared_resource_is_recorded(self, client, tenant, database, worker):
        body = trial()
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        await worker.run_once()
        assert (await stored(database, request_id)).resource_id == body["key"]

    async def test_an_answer_naming_its_object_records_it(self, client, tenant, database, worker):
        request_id = await accept(
            client,
            tenant,
            "/v1/async/object/account",
            {"Name": "By CRUD", "Currency": "USD", "BillCycleDay": 1},
        )
        await worker.run_once()
        request = await stored(database, request_id)
        assert request.state == State.SUCCEEDED
        assert request.resource_id == orjson.loads(request.response_body)["Id"]


class TestDeterministicFailures:
    async def test_a_request_missing_a_required_field_fails_at_once(
        self, client, fresh_tenant, database, worker
    ):
        request_id = await accept(
            client, fresh_tenant, "/v1/async/accounts", {"currency": "USD", "billToContact": None}
        )
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts, request.response_status) == (State.FAILED, 1, 400)
        assert await accounts_of(database, fresh_tenant) == 0
        [event] = await events_of(database, request_id)
        assert event.payload["state"] == "failed"
        assert event.payload["processId"] == request.process_id
        assert any(reason["code"] % 100 == 22 for reason in event.payload["reasons"])

    async def test_a_refused_request_leaves_no_effect(self, client, tenant, database, worker):
        body = trial(failures=1, error="rule")
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.FAILED, 1)
        assert calls[body["key"]] == 1
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 0


class TestTransientFailures:
    @pytest.mark.parametrize("error", ["contention", "temporary", "answered-503"])
    async def test_retried_until_it_succeeds_with_its_effect_once(
        self, client, tenant, database, make_worker, error
    ):
        body = trial(failures=1, error=error)
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        clock = ManualClock()
        worker = make_worker(clock=clock)
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.QUEUED, 1)
        assert request.completed_at is None
        assert await events_of(database, request_id) == []
        await advance_until_due(clock, database, request_id)
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.SUCCEEDED, 2)
        assert calls[body["key"]] == 2
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 1
        assert len(await events_of(database, request_id)) == 1

    async def test_retries_wait_twice_as_long_each_time_up_to_the_cap(
        self, client, tenant, database, make_worker
    ):
        policy = RetryPolicy(
            max_attempts=4,
            base_delay=timedelta(seconds=10),
            max_delay=timedelta(seconds=30),
            jitter=0.0,
        )
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial(failures=3))
        clock = ManualClock()
        worker = make_worker(retry=policy, clock=clock)
        delays = [timedelta(seconds=seconds) for seconds in (10, 20, 30)]
        for attempt, delay in enumerate(delays, start=1):
            await worker.run_once()
            request = await stored(database, request_id)
            assert (request.state, request.attempts) == (State.QUEUED, attempt)
            assert request.run_after == clock.now() + delay
            clock.advance(delay - timedelta(milliseconds=1))
            assert await worker.run_once() == 0  # not due yet
            clock.advance(timedelta(milliseconds=1))
        await worker.run_once()
        assert (await stored(database, request_id)).state == State.SUCCEEDED

    async def test_a_request_that_never_recovers_fails_after_the_last_attempt(
        self, client, tenant, database, make_worker
    ):
        body = trial(failures=99, error="temporary")
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        clock = ManualClock()
        worker = make_worker(clock=clock)
        for _ in range(EXACT_RETRY.max_attempts - 1):
            await worker.run_once()
            assert await events_of(database, request_id) == []
            await advance_until_due(clock, database, request_id)
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.FAILED, EXACT_RETRY.max_attempts)
        assert request.response_status == 503
        assert calls[body["key"]] == EXACT_RETRY.max_attempts
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 0
        [event] = await events_of(database, request_id)
        assert event.payload["state"] == "failed"
        assert [reason["code"] % 100 for reason in event.payload["reasons"]] == [61]

    async def test_a_rate_limit_is_waited_out_without_using_an_attempt(
        self, client, tenant, database, worker
    ):
        body = trial(failures=EXACT_RETRY.max_attempts + 1, error="limit")
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        for _ in range(EXACT_RETRY.max_attempts + 1):
            assert await worker.run_once() == 1  # Retry-After: 0, so due again at once
            request = await stored(database, request_id)
            assert (request.state, request.attempts) == (State.QUEUED, 0)
        assert await events_of(database, request_id) == []
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.SUCCEEDED, 1)
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 1

    async def test_a_timed_out_attempt_is_retried_and_its_effects_undone(
        self, client, tenant, database, make_worker
    ):
        body = trial(failures=1, error="slow")
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        clock = ManualClock()
        worker = make_worker(request_timeout=TIME_LIMIT, clock=clock)
        await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.QUEUED, 1)
        assert request.last_error == "timed out"
        assert request.response_status is None
        assert calls[body["key"]] == 1
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 0

        await advance_until_due(clock, database, request_id)
        await worker.run_once()
        assert (await stored(database, request_id)).state == State.SUCCEEDED
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 1

    async def test_a_request_that_always_times_out_fails_with_a_timeout_reason(
        self, client, tenant, database, make_worker
    ):
        policy = replace(EXACT_RETRY, max_attempts=2)
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial(failures=99, error="slow"))
        clock = ManualClock()
        worker = make_worker(request_timeout=TIME_LIMIT, retry=policy, clock=clock)
        for _ in range(policy.max_attempts):
            await advance_until_due(clock, database, request_id)
            await worker.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.FAILED, policy.max_attempts)
        [event] = await events_of(database, request_id)
        assert event.payload["reasons"] == [TIMEOUT_REASON]


class TestLeases:
    async def test_a_worker_that_lost_its_lease_changes_nothing(
        self, client, fresh_tenant, database, make_worker
    ):
        request_id = await accept(client, fresh_tenant, "/v1/async/accounts", account_body())
        clock = ManualClock()
        slow, other = make_worker(lease=LEASE, clock=clock), make_worker(clock=clock)
        stale = await slow.claim(10)
        let_lease_expire(clock)

        assert await other.reap_expired_leases() == 1
        assert await other.run_once() == 1
        finished = await stored(database, request_id)
        assert (finished.state, finished.attempts) == (State.SUCCEEDED, 2)

        await slow.execute_batch(stale)

        request = await stored(database, request_id)
        assert (request.state, request.attempts, request.lease_owner) == (
            State.SUCCEEDED,
            2,
            None,
        )
        assert request.completed_at == finished.completed_at
        assert await accounts_of(database, fresh_tenant) == 1
        assert len(await events_of(database, request_id)) == 1

    async def test_a_request_whose_worker_crashed_is_run_by_another(
        self, client, fresh_tenant, database, make_worker
    ):
        request_id = await accept(client, fresh_tenant, "/v1/async/accounts", account_body())
        clock = ManualClock()
        crashed = make_worker(lease=LEASE, clock=clock)
        assert len(await crashed.claim(10)) == 1
        del crashed
        let_lease_expire(clock)

        survivor = make_worker(clock=clock)
        assert await survivor.run_once() == 0  # still leased until reaped
        assert await survivor.reap_expired_leases() == 1
        request = await stored(database, request_id)
        assert (request.state, request.attempts, request.lease_owner) == (State.QUEUED, 1, None)
        await survivor.run_once()

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.SUCCEEDED, 2)
        assert await accounts_of(database, fresh_tenant) == 1
        assert len(await events_of(database, request_id)) == 1

    async def test_a_request_that_keeps_losing_its_worker_fails_when_attempts_are_spent(
        self, client, tenant, database, make_worker
    ):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        clock = ManualClock()
        reaper = make_worker(clock=clock)
        for _ in range(EXACT_RETRY.max_attempts):
            assert len(await make_worker(lease=LEASE, clock=clock).claim(10)) == 1
            let_lease_expire(clock)
            assert await reaper.reap_expired_leases() == 1

        request = await stored(database, request_id)
        assert (request.state, request.attempts) == (State.FAILED, EXACT_RETRY.max_attempts)
        [event] = await events_of(database, request_id)
        assert event.payload["reasons"] == [LEASE_REASON]
        assert event.payload["processId"] == request.process_id

    async def test_a_live_worker_keeps_its_leases(self, client, tenant, database, make_worker):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        clock = ManualClock()
        worker = make_worker(lease=LEASE, clock=clock)
        await worker.claim(10)
        leased_until = (await stored(database, request_id)).lease_expires_at
        clock.advance(LEASE / 3)
        await worker.extend_leases()
        assert (await stored(database, request_id)).lease_expires_at == leased_until + LEASE / 3


class TestBatches:
    async def test_a_failing_request_does_not_undo_its_neighbours(
        self, client, fresh_tenant, database, worker
    ):
        failing = trial(failures=1, error="rule")
        failed_id = await accept(client, fresh_tenant, ASYNC_TRIALS, failing)
        succeeded_id = await accept(client, fresh_tenant, "/v1/async/accounts", account_body())
        assert await worker.run_once() == 2

        assert (await stored(database, failed_id)).state == State.FAILED
        assert (await stored(database, succeeded_id)).state == State.SUCCEEDED
        assert await accounts_of(database, fresh_tenant) == 1
        assert await tally_of(database, fresh_tenant.tenant_id, failing["key"]) == 0

    async def test_a_request_timing_out_mid_batch_costs_its_neighbours_nothing(
        self, client, tenant, database, make_worker
    ):
        worker = make_worker(request_timeout=TIME_LIMIT)
        before, late, after = trial(), trial(failures=1, error="slow"), trial()
        ids = [await accept(client, tenant, ASYNC_TRIALS, body) for body in (before, late, after)]
        assert await worker.run_once() == 3

        states = [(await stored(database, request_id)).state for request_id in ids]
        assert states == [State.SUCCEEDED, State.QUEUED, State.SUCCEEDED]
        for body, effects in [(before, 1), (late, 0), (after, 1)]:
            assert await tally_of(database, tenant.tenant_id, body["key"]) == effects
        assert [len(await events_of(database, request_id)) for request_id in ids] == [1, 0, 1]

    async def test_effects_are_kept_only_with_their_recorded_outcome(
        self, client, fresh_tenant, database, make_worker, monkeypatch
    ):
        doomed_id = await accept(client, fresh_tenant, "/v1/async/accounts", account_body())
        neighbour = trial()
        neighbour_id = await accept(client, fresh_tenant, ASYNC_TRIALS, neighbour)
        finished_event = transitions.finished_event

        def event_unless_doomed(request, **kwargs) -> dict[str, object]:
            if request.id == doomed_id:
                raise RuntimeError("the outbox is unavailable")
            return finished_event(request, **kwargs)

        monkeypatch.setattr(transitions, "finished_event", event_unless_doomed)
        clock = ManualClock()
        assert await make_worker(lease=LEASE, clock=clock).run_once() == 2

        assert await accounts_of(database, fresh_tenant) == 0
        assert (await stored(database, doomed_id)).state == State.RUNNING
        assert await events_of(database, doomed_id) == []
        assert (await stored(database, neighbour_id)).state == State.SUCCEEDED
        assert await tally_of(database, fresh_tenant.tenant_id, neighbour["key"]) == 1

        monkeypatch.undo()
        let_lease_expire(clock)
        worker = make_worker(clock=clock)
        await worker.reap_expired_leases()
        await worker.run_once()
        assert (await stored(database, doomed_id)).state == State.SUCCEEDED
        assert await accounts_of(database, fresh_tenant) == 1


class TestTheClaimLoop:
    """``Worker.run``: when it claims, between batches."""

    POLL = timedelta(milliseconds=20)

    @staticmethod
    async def started_at(database, request_id: str):
        """When the request was claimed, once it has been (read without taking anything in)."""
        for _ in range(500):
            async with database.read_transaction() as session:
                request = await session.get(AsyncRequest, request_id)
            if request is not None and request.started_at is not None:
                return request.started_at
            await asyncio.sleep(0.01)
        pytest.fail(f"request {request_id} was never claimed")

    @pytest.mark.parametrize("batch_wait", [timedelta(0), timedelta(milliseconds=600)])
    async def test_a_busy_worker_lets_the_next_batch_gather(
        self, client, tenant, database, make_worker, batch_wait
    ):
        worker = make_worker(poll_interval=self.POLL, batch_wait=batch_wait)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            first = await accept(client, tenant, ASYNC_TRIALS, trial())
            claimed_first = await self.started_at(database, first)
            # A worker that was idle starts at its next look, whatever the wait between batches.
            waited = claimed_first - (await stored(database, first)).created_at
            assert waited < timedelta(milliseconds=300)
            second = await accept(client, tenant, ASYNC_TRIALS, trial())
            await asyncio.sleep(5 * self.POLL.total_seconds())
            third = await accept(client, tenant, ASYNC_TRIALS, trial())
            together = await self.started_at(database, second) == await self.started_at(
                database, third
            )
        finally:
            stop.set()
            await running
        assert together == bool(batch_wait)
