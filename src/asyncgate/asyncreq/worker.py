"""Workers: claim due requests under a lease, execute them, record outcomes.

Every transition is fenced on ``(id, state='running', lease_owner, attempts)``: a worker whose
lease was lost (it stalled past expiry and the request was reclaimed) matches no row and rolls
its work back, so a request's effects commit at most once. Claiming and executing are separate
transactions so that the ``running`` state is visible and a crash leaves a lease to expire
rather than a request to forget.

A batch of claimed requests executes in one transaction, each request in its own savepoint:
one commit (one fsync) for many requests, and a failing request undoes only its own effects.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp

from asyncgate.asyncreq.executor import Answer, execute
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.outcomes import process_id_of, record_finished, resource_id_of
from asyncgate.asyncreq.retry import Outcome, RetryPolicy, classify
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database

log = logging.getLogger("asyncgate.worker")

DEFAULT_LIMIT_WAIT = timedelta(seconds=1)


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int = 1
    batch_size: int = 50
    lease: timedelta = timedelta(seconds=60)
    poll_interval: timedelta = timedelta(seconds=1)
    request_timeout: timedelta = timedelta(seconds=120)
    retry: RetryPolicy = RetryPolicy()


class Worker:
    def __init__(
        self,
        app: ASGIApp,
        database: Database,
        config: WorkerConfig,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.app = app
        self.database = database
        self.config = config
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        # Set by this process's accepts as they commit, so new work starts without polling.
        self.wake = wake or asyncio.Event()
        self._in_flight: set[str] = set()
        self._postgres = database.engine.dialect.name == "postgresql"

    # -- one step each, callable directly (tests drive these without sleeping) -----------------

    async def claim(self, limit: int) -> list[AsyncRequest]:
        now = utcnow()
        due = (
            select(AsyncRequest.id)
            .where(AsyncRequest.state == State.QUEUED, AsyncRequest.run_after <= now)
            .order_by(AsyncRequest.run_after)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(AsyncRequest)
            .where(AsyncRequest.id.in_(due.scalar_subquery()))
            .values(
                state=State.RUNNING,
                attempts=AsyncRequest.attempts + 1,
                lease_owner=self.owner,
                lease_expires_at=now + self.config.lease,
                started_at=now,
            )
            .returning(AsyncRequest)
            .execution_options(synchronize_session=False)
        )
        async with self.database.transaction() as session:
            claimed = list((await session.scalars(statement)).all())
        self._in_flight.update(request.id for request in claimed)
        return sorted(claimed, key=lambda request: request.run_after)

    async def execute_batch(self, requests: list[AsyncRequest]) -> None:
        try:
            async with self.database.transaction() as session:
                for request in requests:
                    await self._execute_one(session, request)
        finally:
            self._in_flight.difference_update(request.id for request in requests)

    async def run_once(self) -> int:
        """Claim and execute one batch; returns how many requests it took."""
        claimed = await self.claim(self.config.batch_size)
        if claimed:
            await self.execute_batch(claimed)
        return len(claimed)

    async def reap_expired_leases(self) -> int:
        """Return requests whose worker vanished to the queue, or fail them when spent."""
        now = utcnow()
        expired = (
            select(AsyncRequest)
            .where(AsyncRequest.state == State.RUNNING, AsyncRequest.lease_expires_at < now)
            .limit(100)
        )
        if self._postgres:
            expired = expired.with_for_update(skip_locked=True)
        async with self.database.transaction() as session:
            requests = list((await session.scalars(expired)).all())
            for request in requests:
                if request.attempts >= self.config.retry.max_attempts:
                    self._fail(session, request, now, reasons=[_lease_reason()], process_id=None)
                else:
                    request.state = State.QUEUED
                    request.run_after = now
                    request.last_error = "the worker's lease expired before it finished"
                request.lease_owner = None
                request.lease_expires_at = None
        return len(requests)

    async def extend_leases(self) -> None:
        if not self._in_flight:
            return
        async with self.database.transaction() as session:
            await session.execute(
                update(AsyncRequest)
                .where(
                    AsyncRequest.id.in_(list(self._in_flight)),
                    AsyncRequest.state == State.RUNNING,
                    AsyncRequest.lease_owner == self.owner,
                )
                .values(lease_expires_at=utcnow() + self.config.lease)
                .execution_options(synchronize_session=False)
            )

    # -- the loops ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loops = [self._claim_loop(stop) for _ in range(self.config.concurrency)]
        await asyncio.gather(*loops, self._housekeeping_loop(stop))

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                taken = await self.run_once()
            except Exception:
                log.exception("worker batch failed; retrying after the poll interval")
                taken = 0
            if taken >= self.config.batch_size:
                continue  # a full batch: there is probably more waiting
            if taken == 0:
                self.wake.clear()
                await _wait_any(stop, self.wake, self.config.poll_interval)

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        period = self.config.lease / 3
        while not stop.is_set():
            try:
                await self.extend_leases()
                await self.reap_expired_leases()
            except Exception:
                log.exception("lease housekeeping failed")
            await _wait_any(stop, None, period)

    # -- internals ------------------------------------------------------------------------------

    async def _execute_one(self, session: AsyncSession, request: AsyncRequest) -> None:
        savepoint = await session.begin_nested()
        try:
            async with asyncio.timeout(self.config.request_timeout.total_seconds()):
                answer = await execute(self.app, session, request)
        except TimeoutError:
            await savepoint.rollback()
            await self._settle(session, request, None)
            return
        if not await self._settle(session, request, answer):
            await savepoint.rollback()
            log.warning("lease of request %s was lost; its work was rolled back", request.id)
            return
        await savepoint.commit()

    async def _settle(self, session: AsyncSession, request: AsyncRequest, answer: Answer | None) -> bool:
        """Record the outcome of this attempt; False when the lease was lost meanwhile."""
        now = utcnow()
        fence = and_(
            AsyncRequest.id == request.id,
            AsyncRequest.state == State.RUNNING,
            AsyncRequest.lease_owner == self.owner,
            AsyncRequest.attempts == request.attempts,
        )
        outcome = Outcome.TRANSIENT if answer is None else classify(answer.status, answer.reason_codes())
        values: dict[str, object] = {"lease_owner": None, "lease_expires_at": None}
        if answer is not None:
            values |= {"response_status": answer.status, "response_body": answer.body}
        if outcome == Outcome.SUCCEEDED:
            values |= {
                "state": State.SUCCEEDED,
                "completed_at": now,
                "resource_id": resource_id_of(answer),
            }
        elif outcome == Outcome.LIMITED:
            # Waiting out a limit is not a failed attempt.
            values |= {
                "state": State.QUEUED,
                "attempts": request.attempts - 1,
                "run_after": now + _retry_after(answer),
                "last_error": "rate limited; waiting",
            }
        elif outcome == Outcome.FAILED:
            values |= {"state": State.FAILED, "completed_at": now, "process_id": process_id_of(answer, "")}
        else:
            next_run = self.config.retry.next_run(request.attempts, now)
            error = "timed out" if answer is None else f"HTTP {answer.status}"
            if next_run is None:
                values |= {"state": State.FAILED, "completed_at": now, "last_error": error}
            else:
                values |= {"state": State.QUEUED, "run_after": next_run, "last_error": error}
        result = await session.execute(
            update(AsyncRequest).where(fence).values(**values).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        final_state = values.get("state")
        if final_state == State.SUCCEEDED:
            record_finished(
                session, request, state=State.SUCCEEDED, completed_at=now, resource_id=values["resource_id"]
            )
        elif final_state == State.FAILED:
            reasons = answer.reasons() if answer is not None else [_timeout_reason()]
            process_id = process_id_of(answer, request.id.replace("-", "")[-16:].upper()) if answer else None
            record_finished(
                session, request, state=State.FAILED, completed_at=now, reasons=reasons,
                process_id=process_id or request.id.replace("-", "")[-16:].upper(),
            )
        return True

    def _fail(self, session, request, now, *, reasons, process_id) -> None:
        request.state = State.FAILED
        request.completed_at = now
        record_finished(
            session, request, state=State.FAILED, completed_at=now, reasons=reasons,
            process_id=process_id or request.id.replace("-", "")[-16:].upper(),
        )


def _retry_after(answer: Answer | None) -> timedelta:
    return DEFAULT_LIMIT_WAIT


def _timeout_reason() -> dict[str, object]:
    return {"code": 50000060, "message": "The request did not complete within its time limit"}


def _lease_reason() -> dict[str, object]:
    return {"code": 50000060, "message": "The request's worker stopped before it finished"}


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, timeout: timedelta) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout.total_seconds(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def worker_config(settings) -> WorkerConfig:
    return WorkerConfig(
        concurrency=settings.worker_concurrency,
        batch_size=settings.worker_batch_size,
        lease=settings.worker_lease,
        poll_interval=settings.worker_poll_interval,
        request_timeout=settings.request_timeout,
        retry=RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
        ),
    )
