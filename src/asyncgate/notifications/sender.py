"""The callout sender: claims due deliveries under a lease, sends them, records the attempts.

Deliveries are leased work (``db.leases``), as async requests are: claiming (``pending`` ->
``delivering``, with a lease) is a short transaction of its own. Sending happens outside any
transaction: on SQLite no write lock is ever held across network I/O. The attempt and the
delivery's next state are then recorded together in one short transaction (attempts that end
together share it, ``db.group_commit``), fenced on the lease: a sender whose lease was lost
records nothing.

Delivery is at least once. A sender that dies after sending and before recording leaves its
lease to expire; the delivery is then due again and sent again, with the same
``Zuora-Notification-Id``, which receivers use to drop duplicates. A live sender extends the
leases of what it is sending.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq.wakeup import wait_for_wake
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.db.base import new_id
from asyncgate.db.engine import Database
from asyncgate.db.group_commit import GroupCommit
from asyncgate.db.leases import LeasedTable, Leases
from asyncgate.notifications.callout_client import AttemptOutcome, CalloutClient, CalloutRequest
from asyncgate.notifications.callout_retry import CalloutRetryPolicy
from asyncgate.notifications.callout_settings import settings_of_tenants
from asyncgate.notifications.merge_fields import merged_params
from asyncgate.notifications.models import (
    Callout,
    CalloutAttempt,
    CalloutDelivery,
    CalloutSettings,
    DeliveryState,
    NotificationDefinition,
)
from asyncgate.notifications.outbox import OutboxEvent, woken_by_new_deliveries
from asyncgate.secretbox import SecretBox

log = logging.getLogger("asyncgate.sender")

LEASE_EXPIRED = "the sender's lease expired before it recorded the attempt; sending again"
_INSERT_ATTEMPTS = insert(cast(Table, CalloutAttempt.__table__))
_DELIVERIES = cast(Table, CalloutDelivery.__table__)
LEASED_DELIVERIES = LeasedTable(
    _DELIVERIES,
    waiting=DeliveryState.PENDING,
    held=DeliveryState.DELIVERING,
    due="next_attempt_at",
)
_CLAIMED_COLUMNS = tuple(column.name for column in _DELIVERIES.columns)
_ANY_DUE = (
    select(CalloutDelivery.id)
    .where(
        CalloutDelivery.state == DeliveryState.PENDING,
        CalloutDelivery.next_attempt_at <= bindparam("now"),
    )
    .limit(1)
)
# Deliveries whose sender vanished: due again, their attempt not recorded.
_DUE_AGAIN = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id.in_(bindparam("ids", expanding=True)),
        _DELIVERIES.c.state == DeliveryState.DELIVERING,
    )
    .values(
        state=DeliveryState.PENDING,
        lease_owner=None,
        lease_expires_at=None,
        next_attempt_at=bindparam("now"),
        last_error=LEASE_EXPIRED,
    )
)
REAP_BATCH = 500


@dataclass(frozen=True, slots=True)
class SenderConfig:
    concurrency: int  # sends at once
    lease: timedelta
    poll_interval: timedelta
    interval_unit: timedelta  # how long a minute of a tenant's interval lasts

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        return cls(
            concurrency=settings.callout_concurrency,
            lease=settings.worker_lease,
            poll_interval=settings.callout_poll_interval,
            interval_unit=settings.callout_interval_unit,
        )


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this sender holds, with what its next attempt sends."""

    id: str
    tenant_id: str
    attempts: int  # recorded before this one
    policy: CalloutRetryPolicy
    notification_name: str | None
    request: CalloutRequest | None
    # Why there is nothing to send (the definition was deleted or deactivated, or its secrets
    # cannot be decrypted): the delivery fails without an attempt.
    unsendable: str | None = None


@dataclass(frozen=True, slots=True)
class Attempted:
    delivery: ClaimedDelivery
    outcome: AttemptOutcome | None  # None: nothing was sent


class Sender:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        secret_box: SecretBox,
        client: CalloutClient,
        config: SenderConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        self.settings = settings
        self.secret_box = secret_box
        self.client = client
        self.config = config or SenderConfig.from_settings(settings)
        # What leases, due attempts and retries are measured against.
        self.clock = clock
        self.owner = f"sender-{uuid.uuid4().hex[:12]}"
        # Set when this process commits deliveries (``outbox.woken_by_new_deliveries``), by
        # other processes' commits (``RequestQueue.listen``) and whenever a send ends, so that
        # work starts without polling.
        self.wake = asyncio.Event()
        self.leases = Leases(LEASED_DELIVERIES, database, self.owner, self.config.lease, clock)
        self._next_retry: datetime | None = None
        self._recorder: GroupCommit[Attempted, bool] = GroupCommit(self._record_group)

    # -- one step each, callable directly (tests drive these without the loops) ---------------

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        """Up to ``limit`` due deliveries, now ``delivering`` under this sender's lease."""
        now = self.clock.now()
        # A read first: it costs no write lock when, as usual, nothing is due.
        async with self.database.read_transaction() as session:
            if await session.scalar(_ANY_DUE, {"now": now}) is None:
                return []
        claiming = select(CalloutDelivery).from_statement(
            self.leases.claim_statement(returning=_CLAIMED_COLUMNS)
        )
        parameters = {
            "now": now,
            "limit": limit,
            "owner": self.owner,
            "lease_expires_at": self.leases.expiry(now),
        }
        async with self.database.transaction() as session:
            deliveries = list((await session.scalars(claiming, parameters)).all())
            loaded = await _load(session, deliveries, self.settings)
        self.leases.took(delivery.id for delivery in deliveries)
        return [self._prepare(delivery, *loaded[delivery.id]) for delivery in deliveries]

    async def attempt(self, claimed: ClaimedDelivery) -> Attempted:
        """Send one attempt (no database involved)."""
        if claimed.request is None:
            return Attempted(claimed, None)
        return Attempted(claimed, await self.client.attempt(claimed.request))

    async def record(self, attempted: list[Attempted]) -> int:
        """Record attempts and the deliveries' next states in one transaction; returns how
        many were recorded (the others' leases were lost, and they are sent again)."""
        return len(await self._record(attempted))

    async def _record_group(self, attempted: list[Attempted], lane: int) -> list[bool | Exception]:
        recorded = await self._record(attempted)
        return [item.delivery.id in recorded for item in attempted]

    async def _record(self, attempted: list[Attempted]) -> set[str]:
        """The IDs of the deliveries whose attempts were recorded."""
        now = self.clock.now()
        recorded: set[str] = set()
        attempt_rows = []
        try:
            async with self.database.transaction() as session:
                for item in attempted:
                    if await self._record_one(session, item, now):
                        recorded.add(item.delivery.id)
                        if item.outcome is not None:
                            attempt_rows.append(_attempt_row(item.delivery, item.outcome))
                if attempt_rows:
                    await session.execute(_INSERT_ATTEMPTS, attempt_rows)
        finally:
            self.leases.gave_up(item.delivery.id for item in attempted)
        return recorded

    async def _record_one(self, session: AsyncSession, item: Attempted, now: datetime) -> bool:
        """The delivery's next state, fenced on its lease; False when the lease was lost."""
        delivery = item.delivery
        values = self._transition(item, now)
        fenced = LEASED_DELIVERIES.settle(frozenset(values))
        parameters = self.leases.settled(delivery.id, delivery.attempts, values)
        if cast(CursorResult[Any], await session.execute(fenced, parameters)).rowcount != 1:
            log.warning("lease of delivery %s was lost; its attempt is not recorded", delivery.id)
            return False
        retry_at = values.get("next_attempt_at")
        if isinstance(retry_at, datetime):
            self._next_retry = min(self._next_retry or retry_at, retry_at)
        return True

    async def run_once(self) -> int:
        """Claim, send and record one batch; returns how many deliveries it took."""
        claimed = await self.claim(self.config.concurrency)
        if claimed:
            await self.record(list(await asyncio.gather(*map(self.attempt, claimed))))
        return len(claimed)

    async def reap_expired_leases(self) -> int:
        """Deliveries whose sender vanished are due again (their attempt was not recorded)."""
        now = self.clock.now()
        async with self.database.core_transaction() as connection:
            expired = await connection.execute(
                self.leases.expired_statement(), {"now": now, "limit": REAP_BATCH}
            )
            ids = [row.id for row in expired]
            if ids:
                await connection.execute(_DUE_AGAIN, {"ids": ids, "now": now})
        return len(ids)

    async def extend_leases(self) -> None:
        await self.leases.extend()

    # -- the loops ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop``; the sends in progress then finish and are recorded. Woken by
        deliveries this process commits, by :attr:`wake`, else polling."""
        with woken_by_new_deliveries(self.wake):
            await asyncio.gather(self._claim_loop(stop), self._housekeeping_loop(stop))

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        sending: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            self.wake.clear()
            free = self.config.concurrency - len(sending)
            claimed: list[ClaimedDelivery] = []
            if free > 0:
                try:
                    claimed = await self.claim(free)
                except Exception:
                    log.exception("claiming callouts failed; retrying after the poll interval")
            for delivery in claimed:
                task = asyncio.create_task(self._deliver(delivery))
                sending.add(task)
                task.add_done_callback(sending.discard)
            if len(claimed) < free or free == 0:  # as many as asked: more are probably due
                await wait_for_wake(stop, self.wake, self._idle_wait())
        if sending:
            await asyncio.wait(sending)
        await self._recorder.flushed()

    async def _deliver(self, claimed: ClaimedDelivery) -> None:
        """Send, and leave the attempt to be recorded: the slot is free for the next send."""
        try:
            recording = self._recorder.submit(await self.attempt(claimed))
        except Exception:
            log.exception("delivering %s failed; its lease will expire", claimed.id)
            self.leases.gave_up([claimed.id])
        else:
            recording.add_done_callback(_log_failed_record)
        finally:
            self.wake.set()

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        never = asyncio.Event()
        while not stop.is_set():
            try:
                await self.extend_leases()
                if await self.reap_expired_leases():
                    self.wake.set()
            except Exception:
                log.exception("callout lease housekeeping failed")
            await wait_for_wake(stop, never, self.config.lease / 3)

    def _idle_wait(self) -> timedelta:
        """The poll interval, or less when a retry this sender scheduled is due sooner."""
        wait = self.config.poll_interval
        if self._next_retry is not None:
            until_retry = self._next_retry - self.clock.now()
            if until_retry <= wait:
                self._next_retry = None
                wait = max(until_retry, timedelta(0))
        return wait

    # -- internals ------------------------------------------------------------------------------

    def _prepare(
        self,
        delivery: CalloutDelivery,
        payload: dict[str, Any],
        definition: NotificationDefinition | None,
        callout: Callout | None,
        tenant_settings: CalloutSettings,
    ) -> ClaimedDelivery:
        """What the delivery's next attempt sends, secrets decrypted."""
        claimed = ClaimedDelivery(
            id=delivery.id,
            tenant_id=delivery.tenant_id,
            attempts=delivery.attempts,
            policy=CalloutRetryPolicy.of(
                delivery.max_attempts, tenant_settings, self.config.interval_unit
            ),
            notification_name=None if definition is None else definition.name,
            request=None,
        )
        unsendable = _unsendable(definition, callout)
        if unsendable is not None:
            return replace(claimed, unsendable=unsendable)
        assert callout is not None
        try:
            request = self._request(delivery, payload, callout, tenant_settings)
        except ValueError as undecryptable:  # the SecretBox's: the secret key changed
            return replace(claimed, unsendable=str(undecryptable))
        return replace(claimed, request=request)

    def _request(
        self,
        delivery: CalloutDelivery,
        payload: dict[str, Any],
        callout: Callout,
        tenant_settings: CalloutSettings,
    ) -> CalloutRequest:
        credentials = None
        if callout.required_auth and callout.username and callout.password_sealed:
            credentials = (callout.username, self.secret_box.decrypt(callout.password_sealed))
        return CalloutRequest(
            notification_id=delivery.id,
            method=callout.http_method,
            url=callout.url,
            params=merged_params(callout.params, payload),
            # GET carries no body: the receiver reads the parameters and headers.
            body=b"" if callout.http_method == "GET" else orjson.dumps(payload),
            credentials=credentials,
            preemptive=callout.preemptive,
            signing_secrets=self._signing_secrets(tenant_settings),
            confirm_success=tenant_settings.parse_response_content,
        )

    def _signing_secrets(self, tenant_settings: CalloutSettings) -> tuple[str, ...]:
        sealed = [tenant_settings.signing_secret_sealed]
        if tenant_settings.previous_secret_signs(self.clock.now()):
            sealed.append(tenant_settings.previous_signing_secret_sealed)
        return tuple(self.secret_box.decrypt(secret) for secret in sealed if secret is not None)

    def _transition(self, item: Attempted, now: datetime) -> dict[str, object]:
        """The columns a recorded attempt sets: the one place a claimed delivery's state
        changes."""
        delivery, outcome = item.delivery, item.outcome
        if outcome is None:
            return {
                "state": DeliveryState.FAILED,
                "completed_at": now,
                "last_error": delivery.unsendable,
            }
        attempt = delivery.attempts + 1
        values: dict[str, object] = {"attempts": attempt}
        if outcome.succeeded:
            return values | {
                "state": DeliveryState.DELIVERED,
                "completed_at": now,
                "last_error": None,
            }
        error = f"{outcome.error}: {outcome.error_message}"
        retry_at = delivery.policy.next_attempt(attempt, now, outcome.retry_after)
        if retry_at is None:
            return values | {
                "state": DeliveryState.FAILED,
                "completed_at": now,
                "last_error": error,
            }
        return values | {
            "state": DeliveryState.PENDING,
            "next_attempt_at": retry_at,
            "last_error": error,
        }


def _unsendable(definition: NotificationDefinition | None, callout: Callout | None) -> str | None:
    if definition is None or callout is None:
        return "the notification definition or its callout was deleted"
    if not (definition.active and definition.callout_active and callout.active):
        return "the notification definition or its callout was deactivated"
    return None


async def _load(
    session: AsyncSession, deliveries: list[CalloutDelivery], settings: Settings
) -> dict[str, tuple[Any, ...]]:
    """For each delivery: its event's payload, its definition and callout (None once
    deleted), and its tenant's callout settings."""
    if not deliveries:
        return {}
    rows = await session.execute(
        select(CalloutDelivery.id, OutboxEvent.payload, NotificationDefinition, Callout)
        .join(OutboxEvent, OutboxEvent.id == CalloutDelivery.event_id)
        .outerjoin(
            NotificationDefinition, NotificationDefinition.id == CalloutDelivery.definition_id
        )
        .outerjoin(Callout, Callout.definition_id == CalloutDelivery.definition_id)
        .where(CalloutDelivery.id.in_([delivery.id for delivery in deliveries]))
    )
    tenants = await settings_of_tenants(session, {d.tenant_id for d in deliveries}, settings)
    tenant_of = {delivery.id: delivery.tenant_id for delivery in deliveries}
    return {
        row.id: (row.payload, row.NotificationDefinition, row.Callout, tenants[tenant_of[row.id]])
        for row in rows
    }


def _attempt_row(delivery: ClaimedDelivery, outcome: AttemptOutcome) -> dict[str, object]:
    assert delivery.request is not None
    return {
        "id": new_id(),
        "tenant_id": delivery.tenant_id,
        "delivery_id": delivery.id,
        "attempt": delivery.attempts + 1,
        "notification_name": delivery.notification_name,
        "request_method": delivery.request.method,
        "request_url": outcome.url,
        "started_at": outcome.started_at,
        "completed_at": outcome.completed_at,
        "duration_ms": outcome.duration_ms,
        "succeeded": outcome.succeeded,
        "response_code": outcome.response_code,
        "response_content": outcome.response_content,
        "error_class": None if outcome.error is None else outcome.error.value,
        "error_message": outcome.error_message,
    }


def _log_failed_record(recording: asyncio.Future[bool]) -> None:
    if not recording.cancelled() and (error := recording.exception()) is not None:
        log.error("recording a callout attempt failed; it is sent again", exc_info=error)
