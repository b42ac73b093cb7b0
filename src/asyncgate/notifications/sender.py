"""The callout sender: holds deliveries under a lease, sends them, records the attempts.

Deliveries are leased work (``db.leases``), as async requests are. The sender keeps a hand of
held deliveries, at most twice the sends it makes at once, and fills it two ways: deliveries
this process's worker commits are handed to it with the commit, already held (``handoff``),
and due deliveries are claimed (``pending`` -> ``delivering``, with a lease) in batches, a
short transaction each, once the hand runs low. Sending happens outside any transaction: on
SQLite no write lock is ever held across network I/O. The attempt and the delivery's next
state are then recorded together in one short transaction (attempts that end together share
it, ``db.group_commit``), fenced on the lease: a sender whose lease was lost records nothing.

Delivery is at least once. A sender that dies after sending and before recording leaves its
lease to expire; the delivery is then due again and sent again, with the same
``Zuora-Notification-Id``, which receivers use to drop duplicates. A live sender extends the
leases of what it is sending.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq.wakeup import wait_for_wake
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.db.base import new_id
from asyncgate.db.engine import Database
from asyncgate.db.executemany import execute_many
from asyncgate.db.group_commit import GroupCommit
from asyncgate.db.leases import LeasedTable, Leases
from asyncgate.notifications.callout_client import AttemptOutcome, CalloutClient, CalloutRequest
from asyncgate.notifications.callout_retry import CalloutRetryPolicy
from asyncgate.notifications.callout_settings import settings_of_tenants
from asyncgate.notifications.hand import Hand
from asyncgate.notifications.handoff import LoadedDelivery, taking_new_deliveries
from asyncgate.notifications.merge_fields import merged_params
from asyncgate.notifications.models import (
    Callout,
    CalloutAttempt,
    CalloutDelivery,
    CalloutSettings,
    DeliveryState,
    NotificationDefinition,
)
from asyncgate.notifications.outbox import OutboxEvent
from asyncgate.notifications.urls import Origin, origin_of
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
_CLAIMED_COLUMNS = ("id", "tenant_id", "definition_id", "attempts", "max_attempts")
_ANY_DUE = (
    select(CalloutDelivery.id)
    .where(
        CalloutDelivery.state == DeliveryState.PENDING,
        CalloutDelivery.next_attempt_at <= bindparam("now"),
        CalloutDelivery.definition_id.not_in(bindparam("excluded", expanding=True)),
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
# Deliveries a stopping sender held but did not send: due as they were, for any sender.
_GIVEN_BACK = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id.in_(bindparam("ids", expanding=True)),
        _DELIVERIES.c.state == DeliveryState.DELIVERING,
        _DELIVERIES.c.lease_owner == bindparam("owner"),
    )
    .values(state=DeliveryState.PENDING, lease_owner=None, lease_expires_at=None)
)
REAP_BATCH = 500
# Decrypted secrets kept, by their sealed form: decrypting costs more than a send's signing.
_SECRETS_KEPT = 1024


@dataclass(frozen=True, slots=True)
class SenderConfig:
    concurrency: int  # sends at once
    per_origin: int  # of them to one receiver
    lease: timedelta
    poll_interval: timedelta
    interval_unit: timedelta  # how long a minute of a tenant's interval lasts

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        return cls(
            concurrency=settings.callout_concurrency,
            per_origin=settings.callout_concurrency_per_origin,
            lease=settings.worker_lease,
            poll_interval=settings.callout_poll_interval,
            interval_unit=settings.callout_interval_unit,
        )


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this sender holds, with what its next attempt sends."""

    id: str
    tenant_id: str
    definition_id: str
    attempts: int  # recorded before this one
    policy: CalloutRetryPolicy
    notification_name: str | None
    request: CalloutRequest | None
    origin: Origin | None = None  # where the request goes
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
        # Set when this process commits deliveries (``handoff``), by other processes' commits
        # (``RequestQueue.listen``) and when the hand runs low, so that work starts without
        # polling.
        self.wake = asyncio.Event()
        # Set whenever what the hand holds may have changed (``sender_link`` tells its room).
        self.hand_changed = asyncio.Event()
        self.leases = Leases(LEASED_DELIVERIES, database, self.owner, self.config.lease, clock)
        self._next_retry: datetime | None = None
        self._recorder: GroupCommit[Attempted, bool] = GroupCommit(self._record_group)
        # Held deliveries waiting for a sending slot, and the sends under way.
        self._hand: Hand[ClaimedDelivery] = Hand(self.config.concurrency, self.config.per_origin)
        self._sending: set[asyncio.Task[None]] = set()
        # Whether the last claim took as many as it asked for: more are probably due.
        self._more_due = False
        # Claims come in batches: only once the deliveries ready to go are down to this.
        self._low = self.config.concurrency // 2
        self._secrets: dict[str, str] = {}
        self._counted = database.engine.dialect.supports_sane_multi_rowcount

    # -- one step each, callable directly (tests drive these without the loops) ---------------

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        """Up to ``limit`` due deliveries, now ``delivering`` under this sender's lease."""
        now = self.clock.now()
        # A receiver with every send under way gets no more until one ends.
        excluded = self._hand.busy_definitions()
        # A read first: it costs no write lock when, as usual, nothing is due (a busy
        # receiver's backlog, due all along, would otherwise cost one at every wake).
        async with self.database.read_transaction() as session:
            if await session.scalar(_ANY_DUE, {"now": now, "excluded": excluded}) is None:
                return []
        parameters = {
            "now": now,
            "limit": limit,
            "owner": self.owner,
            "lease_expires_at": self.leases.expiry(now),
            "excluded": excluded,
        }
        claiming = self.leases.claim_statement(_CLAIMED_COLUMNS, excluding="definition_id")
        async with self.database.transaction() as session:
            claimed = (await session.execute(claiming, parameters)).all()
            loaded = await _load(session, claimed, self.settings)
        self.leases.took(delivery.id for delivery in loaded)
        return [self._prepare(delivery) for delivery in loaded]

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
        """The IDs of the deliveries whose attempts were recorded.

        Attempts that end alike (delivered, say) share one executemany. When one does not
        match every row (a lease was lost), or the driver cannot count the rows of an
        executemany (asyncpg), the rows are settled one by one to find which."""
        now = self.clock.now()
        settled = [(item, self._transition(item, now)) for item in attempted]
        try:
            try:
                recorded = await self._record_settled(settled, together=self._counted)
            except _NotAllMatched:
                recorded = await self._record_settled(settled, together=False)
        finally:
            self.leases.gave_up(item.delivery.id for item in attempted)
        for item, values in settled:
            retry_at = values.get("next_attempt_at")
            if item.delivery.id in recorded and isinstance(retry_at, datetime):
                self._next_retry = min(self._next_retry or retry_at, retry_at)
        return recorded

    async def _record_settled(
        self, settled: list[tuple[Attempted, dict[str, object]]], *, together: bool
    ) -> set[str]:
        shapes: dict[frozenset[str], list[dict[str, object]]] = {}
        for item, values in settled:
            parameters = self.leases.settled(item.delivery.id, item.delivery.attempts, values)
            shapes.setdefault(frozenset(values), []).append(parameters)
        recorded: set[str] = set()
        async with self.database.transaction() as session:
            for columns, rows in shapes.items():
                fenced = LEASED_DELIVERIES.settle(columns)
                for fenced_rows in [rows] if together else [[row] for row in rows]:
                    matched = await execute_many(session, fenced, fenced_rows)
                    if matched == len(fenced_rows):
                        recorded.update(str(row["fence_id"]) for row in fenced_rows)
                    elif together:
                        raise _NotAllMatched
                    else:
                        log.warning("lease of delivery %s was lost", fenced_rows[0]["fence_id"])
            attempt_rows = [
                _attempt_row(item.delivery, item.outcome)
                for item, _ in settled
                if item.outcome is not None and item.delivery.id in recorded
            ]
            await execute_many(session, _INSERT_ATTEMPTS, attempt_rows)
        return recorded

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

    # -- deliveries handed over (``handoff.Taker``) --------------------------------------------

    def room(self) -> int:
        return self._hand.room()

    def accepts(self, definition_id: str) -> bool:
        return self._hand.accepts(definition_id)

    def refused_definitions(self) -> list[str]:
        """The definitions it takes no deliveries of now (``sender_link`` tells them)."""
        return self._hand.refused_definitions()

    def lease_expiry(self) -> datetime:
        return self.leases.expiry(self.clock.now())

    def take(self, deliveries: Sequence[LoadedDelivery]) -> None:
        self.leases.took(delivery.id for delivery in deliveries)
        self._hand.add(self._prepare(delivery) for delivery in deliveries)
        self._send_from_hand()

    # -- the loops ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop``; what is in hand is then sent and recorded. Woken by deliveries
        this process commits, by :attr:`wake`, else polling."""
        with taking_new_deliveries(self):
            await asyncio.gather(self._claim_loop(stop), self._housekeeping_loop(stop))

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            # Those set aside for a busy receiver wait for it, not for a slot.
            room = self.room()
            claimed: list[ClaimedDelivery] = []
            if self._hand.ready <= self._low and room > 0:
                try:
                    claimed = await self.claim(room)
                except Exception:
                    log.exception("claiming callouts failed; retrying after the poll interval")
                self._hand.add(claimed)
                self._send_from_hand()
            self._more_due = room > 0 and len(claimed) == room
            if len(claimed) < room or room == 0:  # as many as asked: more are probably due
                await wait_for_wake(stop, self.wake, self._idle_wait())
        # Stopping: what waits in hand goes back to the database at once (a receiver that
        # hangs would otherwise hold the stop for as long), the sends under way finish.
        await self._give_back(self._hand.take_waiting())
        if self._sending:
            await asyncio.wait(set(self._sending))
        await self._recorder.flushed()

    async def _give_back(self, deliveries: list[ClaimedDelivery]) -> None:
        if not deliveries:
            return
        ids = [delivery.id for delivery in deliveries]
        try:
            async with self.database.core_transaction() as connection:
                await connection.execute(_GIVEN_BACK, {"ids": ids, "owner": self.owner})
        except Exception:
            log.exception("giving back %d callouts failed; they wait for their lease", len(ids))
        self.leases.gave_up(ids)

    def _send_from_hand(self) -> None:
        while (delivery := self._hand.next_to_send()) is not None:
            task = asyncio.create_task(self._deliver(delivery))
            self._sending.add(task)
            task.add_done_callback(functools.partial(self._sent, delivery))
        self.hand_changed.set()

    def _sent(self, delivery: ClaimedDelivery, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        freed = self._hand.sent(delivery)
        self._send_from_hand()
        # Claim again when a busy receiver's backlog may go now, or more are probably due and
        # the hand runs low; not after every send (a busy receiver's backlog, due all along,
        # would cost a look at every one).
        if freed or (self._more_due and self._hand.ready <= self._low):
            self.wake.set()

    async def _deliver(self, claimed: ClaimedDelivery) -> None:
        """Send, and leave the attempt to be recorded: the slot is free for the next send."""
        try:
            recording = self._recorder.submit(await self.attempt(claimed))
        except Exception:
            log.exception("delivering %s failed; its lease will expire", claimed.id)
            self.leases.gave_up([claimed.id])
        else:
            recording.add_done_callback(_log_failed_record)

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

    def _prepare(self, delivery: LoadedDelivery) -> ClaimedDelivery:
        """What the delivery's next attempt sends, secrets decrypted."""
        definition, callout = delivery.definition, delivery.callout
        claimed = ClaimedDelivery(
            id=delivery.id,
            tenant_id=delivery.tenant_id,
            definition_id=delivery.definition_id,
            attempts=delivery.attempts,
            policy=CalloutRetryPolicy.of(
                delivery.max_attempts, delivery.tenant_settings, self.config.interval_unit
            ),
            notification_name=None if definition is None else definition.name,
            request=None,
        )
        unsendable = _unsendable(definition, callout)
        if unsendable is not None:
            return replace(claimed, unsendable=unsendable)
        assert callout is not None
        try:
            request = self._request(delivery, callout)
        except ValueError as undecryptable:  # the SecretBox's: the secret key changed
            return replace(claimed, unsendable=str(undecryptable))
        return replace(claimed, request=request, origin=origin_of(request.url, self.client.rules))

    def _request(self, delivery: LoadedDelivery, callout: Callout) -> CalloutRequest:
        credentials = None
        if callout.required_auth and callout.username and callout.password_sealed:
            credentials = (callout.username, self._decrypt(callout.password_sealed))
        payload = delivery.payload
        return CalloutRequest(
            notification_id=delivery.id,
            method=callout.http_method,
            url=callout.url,
            params=merged_params(callout.params, payload),
            # GET carries no body: the receiver reads the parameters and headers.
            body=b"" if callout.http_method == "GET" else orjson.dumps(payload),
            credentials=credentials,
            preemptive=callout.preemptive,
            signing_secrets=self._signing_secrets(delivery.tenant_settings),
            confirm_success=delivery.tenant_settings.parse_response_content,
        )

    def _signing_secrets(self, tenant_settings: CalloutSettings) -> tuple[str, ...]:
        sealed = [tenant_settings.signing_secret_sealed]
        if tenant_settings.previous_secret_signs(self.clock.now()):
            sealed.append(tenant_settings.previous_signing_secret_sealed)
        return tuple(self._decrypt(secret) for secret in sealed if secret is not None)

    def _decrypt(self, sealed: str) -> str:
        secret = self._secrets.get(sealed)
        if secret is None:
            secret = self.secret_box.decrypt(sealed)
            if len(self._secrets) >= _SECRETS_KEPT:
                self._secrets.clear()
            self._secrets[sealed] = secret
        return secret

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


class _NotAllMatched(Exception):
    """An executemany matched fewer rows than it was given: a lease was lost."""


def _unsendable(definition: NotificationDefinition | None, callout: Callout | None) -> str | None:
    if definition is None or callout is None:
        return "the notification definition or its callout was deleted"
    if not (definition.active and definition.callout_active and callout.active):
        return "the notification definition or its callout was deactivated"
    return None


async def _load(
    session: AsyncSession, claimed: Sequence[Any], settings: Settings
) -> list[LoadedDelivery]:
    """The ``claimed`` rows (``_CLAIMED_COLUMNS``) with their events' payloads, their
    definitions and callouts (None once deleted) and their tenants' callout settings."""
    if not claimed:
        return []
    rows = await session.execute(
        select(CalloutDelivery.id, OutboxEvent.payload, NotificationDefinition, Callout)
        .join(OutboxEvent, OutboxEvent.id == CalloutDelivery.event_id)
        .outerjoin(
            NotificationDefinition, NotificationDefinition.id == CalloutDelivery.definition_id
        )
        .outerjoin(Callout, Callout.definition_id == CalloutDelivery.definition_id)
        .where(CalloutDelivery.id.in_([delivery.id for delivery in claimed]))
    )
    found = {row.id: row for row in rows}
    tenants = await settings_of_tenants(session, {d.tenant_id for d in claimed}, settings)
    return [
        LoadedDelivery(
            id=delivery.id,
            tenant_id=delivery.tenant_id,
            definition_id=delivery.definition_id,
            attempts=delivery.attempts,
            max_attempts=delivery.max_attempts,
            payload=found[delivery.id].payload,
            definition=found[delivery.id].NotificationDefinition,
            callout=found[delivery.id].Callout,
            tenant_settings=tenants[delivery.tenant_id],
        )
        for delivery in claimed
    ]


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
