"""Workers: claim due requests under a lease, execute them, record outcomes.

Every transition is fenced on ``(id, state='running', lease_owner, attempts)``: a worker whose
lease was lost (it stalled past expiry and the request was reclaimed) matches no row and rolls
its work back, so a request's effects commit at most once. Claiming and executing are separate
transactions so that the ``running`` state is visible and a crash leaves a lease to expire
rather than a request to forget.

A batch of claimed requests executes in few transactions (each about
``TRANSACTION_TIME_BUDGET`` of work, shorter when another process waits for SQLite's write
lock), each request, or bulk run of requests, in its own savepoint: one commit (one fsync) for
many requests. A request's effects are kept only when it succeeded
(one that failed, or will run again, leaves nothing behind) and an error escaping one request
undoes that request alone. A request that runs out of time costs the batch its transaction,
and the others run again in a new one (see ``Worker._execute_together``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

import orjson
from sqlalchemy import (
    Update,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from asyncgate.asyncreq.executor import execute
from asyncgate.asyncreq.models import (
    AsyncRequest,
    ClaimedRequest,
)
from asyncgate.asyncreq.outcomes import default_process_id
from asyncgate.asyncreq.queue import LEASED_REQUESTS, Lease, RequestQueue
from asyncgate.asyncreq.retention import prune_finished
from asyncgate.asyncreq.retry import RetryPolicy
from asyncgate.asyncreq.transitions import (
    AfterAttempt,
    Transition,
    after_attempt,
    after_lease_expired,
)
from asyncgate.asyncreq.wakeup import wait_for_wake
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.executemany import execute_many
from asyncgate.db.leases import Leases
from asyncgate.http import bulk, idempotency
from asyncgate.http.answer import Answer
from asyncgate.http.bulk import BulkHandler
from asyncgate.http.errors import error_body
from asyncgate.http.ratelimit import RateLimited, RateLimits
from asyncgate.notifications.deliveries import record_and_dispatch

log = logging.getLogger("asyncgate.worker")

# Seconds of work after which a batch's transaction commits and the rest goes into a new one,
# so that no transaction holds SQLite's only write lock for long.
TRANSACTION_TIME_BUDGET = 0.025
# At most this many requests per bulk run: the larger the run, the less each request costs,
# and the fewer pages (and fsyncs) the disk sees per request. Accepts do not wait for the
# worker's transactions (the queue stores them apart), so runs need not be short for them: runs
# of 50 rather than 20 took the accept p99 at 1,000/s from 8.8 and 11.6 ms to 6.9 and 8.6 ms
# (median of 6 windows, alternating runs).
BULK_RUN_SIZE = 50
# On SQLite a transaction commits after the run in progress as soon as another process waits
# for the write lock (see ``db.writer_turns``): an accept then waits for about one run. So
# once another writer has waited, runs stay this short for a while.
CONTENDED_RUN_SIZE = 4
CONTENTION_MEMORY_SECONDS = 1.0

REAP_BATCH = 100


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int = 1
    batch_size: int = 50
    batch_wait: timedelta = timedelta(0)
    lease: timedelta = timedelta(seconds=60)
    poll_interval: timedelta = timedelta(seconds=1)
    request_timeout: timedelta = timedelta(seconds=120)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retention: timedelta = timedelta(0)  # 0: finished requests are kept
    idempotency_key_lifetime: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            concurrency=settings.worker_concurrency,
            batch_size=settings.worker_batch_size,
            batch_wait=settings.worker_batch_wait,
            lease=settings.worker_lease,
            poll_interval=settings.worker_poll_interval,
            request_timeout=settings.request_timeout,
            retention=settings.request_retention,
            idempotency_key_lifetime=settings.idempotency_key_lifetime,
            retry=RetryPolicy(
                max_attempts=settings.retry_max_attempts,
                base_delay=settings.retry_base_delay,
                max_delay=settings.retry_max_delay,
            ),
        )


class Worker:
    def __init__(
        self,
        app: Starlette,
        database: Database,
        config: WorkerConfig,
        wake: asyncio.Event | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.app = app
        self.database = database
        self.config = config
        self.clock = clock
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        # Set by this process's accepts as they commit, so new work starts without polling.
        self.wake = wake or asyncio.Event()
        self.leases = Leases(LEASED_REQUESTS, database, self.owner, config.lease, clock)
        self._contended_at = -CONTENTION_MEMORY_SECONDS
        self.queue: RequestQueue = app.state.queue

    # -- one step each, callable directly (tests drive these without sleeping) -----------------

    async def claim(self, limit: int) -> list[ClaimedRequest]:
        """Take up to ``limit`` due requests under this worker's lease."""
        now = self.clock.now()
        lease = Lease(self.owner, self.leases.expiry(now))
        claimed = await self.queue.claim(lease, limit, now)
        self.leases.took(request.id for request in claimed)
        return claimed

    async def execute_batch(self, requests: list[ClaimedRequest]) -> None:
        try:
            remaining = await self._execute_together(await self._admit(requests))
            while remaining:
                remaining = await self._execute_together(remaining)
        finally:
            self.leases.gave_up(request.id for request in requests)

    async def run_once(self) -> int:
        """Claim and execute one batch; returns how many requests it took."""
        claimed = await self.claim(self.config.batch_size)
        if claimed:
            await self.execute_batch(claimed)
        await self.queue.tidy()
        return len(claimed)

    async def reap_expired_leases(self) -> int:
        """Return requests whose worker vanished to the queue, or fail them when spent."""
        now = self.clock.now()
        expired = select(AsyncRequest).from_statement(self.leases.expired_statement())
        async with self.database.transaction() as session:
            found = await session.scalars(expired, {"now": now, "limit": REAP_BATCH})
            requests = list(found.all())
            events = []
            for request in requests:
                transition = after_lease_expired(request, self.config.retry, now)
                request.lease_owner = None
                request.lease_expires_at = None
                for column, value in transition.columns().items():
                    setattr(request, column, value)
                if (event := transition.event(request)) is not None:
                    events.append(event)
            await record_and_dispatch(session, events, self.app.state.settings)
        return len(requests)

    async def extend_leases(self) -> None:
        await self.leases.extend()

    # -- the loops ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loops = [self._claim_loop(stop) for _ in range(self.config.concurrency)]
        await asyncio.gather(*loops, self._housekeeping_loop(stop))

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                taken = await self.run_once()
            except Exception:
                log.exception("worker batch failed; retrying after the poll interval")
                taken = 0
            if taken >= self.config.batch_size:  # more is probably waiting
                continue
            if taken and self.config.batch_wait:
                # Busy: the next batch gathers for a while rather than starting with the next
                # commit (at 1,000 requests/s, waits of 20 ms take the worker's CPU time per
                # request from 0.88 to 0.59 ms and its disk writes from 33 to 19 KiB).
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.batch_wait.total_seconds())
            else:
                await wait_for_wake(stop, self.wake, self.config.poll_interval)

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        period = self.config.lease / 3
        while not stop.is_set():
            try:
                await self.extend_leases()
                await self.reap_expired_leases()
                await prune_finished(self.queue, self.config.retention, self.clock)
                await idempotency.prune_expired(self.database, self.config.idempotency_key_lifetime)
            except Exception:
                log.exception("housekeeping failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period.total_seconds())

    # -- internals ------------------------------------------------------------------------------

    async def _admit(self, requests: list[ClaimedRequest]) -> list[ClaimedRequest]:
        """The requests within their tenants' quotas, counted against them. The others wait
        out the limit, as they would on their route's 429. Counted before the batch's
        transaction opens: counting may claim a share of a quota, which is a write of its
        own (see ``http.limit_store``)."""
        limits: RateLimits = self.app.state.rate_limits
        admitted: list[ClaimedRequest] = []
        waiting: list[tuple[ClaimedRequest, Transition]] = []
        for request in requests:
            try:
                await limits.admit_execution(request.tenant_id)
            except RateLimited as limited:
                answer = _limited_answer(request, limited)
                waiting.append((request, self._after_attempt(request, answer)))
            else:
                admitted.append(request)
        if waiting:
            try:
                async with self.database.transaction() as session:
                    if not await self._settle_all(session, waiting):
                        raise _LeaseLost(*(request.id for request, _ in waiting))
            except _LeaseLost:
                log.warning("leases lost while putting requests back to wait out a limit")
        return admitted

    async def _execute_together(self, requests: list[ClaimedRequest]) -> list[ClaimedRequest]:
        """Execute ``requests`` in one transaction; returns those left for the next one.

        The transaction is committed once its work passes ``TRANSACTION_TIME_BUDGET``, or
        earlier when another process waits for SQLite's write lock (an accept would wait for
        the whole transaction otherwise). Also
        returns the requests to execute again when an attempt ran out of time: the cancellation
        may have struck mid-statement, which breaks the connection, so the transaction is
        abandoned (the work done in it so far is lost, not the leases) and the late attempt is
        recorded in a transaction of its own."""
        started = self.clock.monotonic()
        try:
            async with self.database.transaction() as session:
                done = 0
                while done < len(requests):
                    handler, run = _bulk_run(requests, done, self._run_size())
                    declined = (
                        run
                        if handler is None
                        else await self._execute_in_bulk(session, handler, run)
                    )
                    for request in declined:
                        await self._execute_one(session, request)
                    done += len(run)
                    if self._others_waiting_to_write():
                        return requests[done:]
                    if self.clock.monotonic() - started > TRANSACTION_TIME_BUDGET:
                        return requests[done:]
        except _TimedOut as timed_out:
            late = timed_out.request
            log.warning("request %s timed out; the rest of its batch runs again", late.id)
            async with self.database.transaction() as session:
                await self._settle(session, late, self._after_attempt(late, None))
            return [request for request in requests if request is not late]
        return []

    def _run_size(self) -> int:
        """The size of the next bulk run: short while other processes wait to write, or did
        lately (they will again: each accept group of the API does)."""
        if (
            self._others_waiting_to_write()
            or self.clock.monotonic() - self._contended_at < CONTENTION_MEMORY_SECONDS
        ):
            return CONTENDED_RUN_SIZE
        return BULK_RUN_SIZE

    def _others_waiting_to_write(self) -> bool:
        if self.database.others_waiting_to_write():
            self._contended_at = self.clock.monotonic()
            return True
        return False

    async def _execute_in_bulk(
        self, session: AsyncSession, handler: BulkHandler, run: list[ClaimedRequest]
    ) -> list[ClaimedRequest]:
        """Execute ``run`` (one tenant's requests for one bulk handler) in one savepoint;
        returns the requests left to execute one by one: those the handler declined, or all
        of them when anything went wrong."""
        effects = await session.begin_nested()
        try:
            answers = await handler(session, run[0].tenant_id, [request.body for request in run])
            now = self.clock.now()
            executed = [
                (request, after_attempt(request, answer, self.config.retry, now))
                for request, answer in zip(run, answers, strict=True)
                if answer is not None
            ]
            if not await self._settle_all(session, executed):
                raise _LeaseLost(*(request.id for request, _ in executed))
            await effects.commit()
        except Exception:
            if effects.is_active:
                await effects.rollback()
            log.exception("bulk execution of %d requests failed; one by one now", len(run))
            return run
        taken = {request.id for request, _ in executed}
        return [request for request in run if request.id not in taken]

    async def _execute_one(self, session: AsyncSession, request: ClaimedRequest) -> None:
        """Run one claimed request in a savepoint of the batch's transaction.

        Its effects are kept only when it succeeded and its outcome was recorded under the
        lease this worker still holds: an attempt that will run again, or that failed, leaves
        nothing behind whatever its handler did. An error escaping the attempt undoes this
        request alone; it then waits for its lease to expire, as if its worker had crashed.
        """
        effects = await session.begin_nested()
        try:
            transition = self._after_attempt(request, await self._attempt(session, request))
            if not transition.succeeded:
                await effects.rollback()
                effects = await session.begin_nested()
            if await self._settle(session, request, transition):
                await effects.commit()
            else:
                await effects.rollback()
                log.warning("lease of request %s was lost; its work was rolled back", request.id)
        except _TimedOut:
            raise
        except Exception:
            if effects.is_active:
                await effects.rollback()
            log.exception("executing request %s failed; its lease will expire", request.id)

    async def _attempt(self, session: AsyncSession, request: ClaimedRequest) -> Answer:
        try:
            async with asyncio.timeout(self.config.request_timeout.total_seconds()):
                return await execute(self.app, session, request)
        except TimeoutError:
            pass
        # Raised outside the handler: chained to the cancellation, it would keep that alive.
        raise _TimedOut(request)

    def _after_attempt(self, request: ClaimedRequest, answer: Answer | None) -> AfterAttempt:
        return after_attempt(request, answer, self.config.retry, self.clock.now())

    async def _settle(
        self, session: AsyncSession, request: ClaimedRequest, transition: Transition
    ) -> bool:
        """Record the outcome of this attempt; False when the lease was lost meanwhile."""
        return await self._settle_all(session, [(request, transition)])

    async def _settle_all(
        self, session: AsyncSession, settled: Sequence[tuple[ClaimedRequest, Transition]]
    ) -> bool:
        """Apply the transitions of ``settled`` and record the events of the requests they
        finished; False when the lease of any of them was lost meanwhile (the caller then
        undoes them all).

        Transitions of one kind share one executemany, and the events another: a bulk run
        costs two statements rather than two per request (more where the driver cannot
        count)."""
        kinds: dict[type[Transition], tuple[Update, list[dict[str, object]]]] = {}
        events = []
        for request, transition in settled:
            columns = transition.columns()
            if (kind := type(transition)) not in kinds:
                kinds[kind] = (LEASED_REQUESTS.settle(frozenset(columns)), [])
            kinds[kind][1].append(self.leases.settled(request.id, request.attempts, columns))
            if (event := transition.event(request)) is not None:
                events.append(event)
        # The fence holds when every row matched. A driver that cannot count the rows of an
        # executemany (asyncpg) gets one statement per row.
        counted = self.database.engine.dialect.supports_sane_multi_rowcount
        for statement, rows in kinds.values():
            for fenced in [rows] if counted else [[row] for row in rows]:
                if await execute_many(session, statement, fenced) != len(fenced):
                    return False
        await record_and_dispatch(session, events, self.app.state.settings)
        return True


def _limited_answer(request: ClaimedRequest, limited: RateLimited) -> Answer:
    """The 429 the request's route answers over the tenant's limit."""
    process_id = default_process_id(request)
    body = error_body(limited, process_id, request.method, request.path)
    return Answer(
        status=429,
        body=orjson.dumps(body),
        resource_id=None,
        retry_after=timedelta(seconds=limited.retry_after),
    )


def _bulk_run(
    requests: list[ClaimedRequest], start: int, limit: int
) -> tuple[BulkHandler | None, list[ClaimedRequest]]:
    """The requests from ``start`` on (at most ``limit``) that one bulk handler can execute
    together (consecutive, so they keep their order, and of one tenant), with that handler; or
    the request at ``start`` alone and None when it has no bulk handler."""
    first = requests[start]
    handler = _bulk_handler_for(first)
    end = start + 1
    if handler is not None:
        while (
            end < min(len(requests), start + limit)
            and requests[end].tenant_id == first.tenant_id
            and _bulk_handler_for(requests[end]) is handler
        ):
            end += 1
    return handler, requests[start:end]


def _bulk_handler_for(request: ClaimedRequest) -> BulkHandler | None:
    return bulk.handler_for(request.method, request.path, request.query_string, request.headers)


class _LeaseLost(Exception):
    """A request of a bulk run was taken over by another worker: the run is undone."""


class _TimedOut(Exception):
    """An attempt ran out of time (see ``Worker._execute_together``)."""

    def __init__(self, request: ClaimedRequest) -> None:
        super().__init__(request.id)
        self.request = request
