"""Which callout deliveries an outbox event makes: one ``pending`` delivery per definition of
its tenant and event type that is active, has ``calloutActive`` and an active callout.

Events are dispatched in the transaction that records them (:func:`record_and_dispatch`);
those earlier versions recorded without their deliveries, as the database is brought up to date
(``leftover_events``). Deliveries go straight to this process's sender when it has room
(``handoff``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.config import Settings
from asyncgate.db.base import new_id, utcnow
from asyncgate.db.executemany import execute_many
from asyncgate.notifications import handoff
from asyncgate.notifications.callout_settings import settings_of_tenants
from asyncgate.notifications.handoff import LoadedDelivery
from asyncgate.notifications.models import (
    Callout,
    CalloutDelivery,
    DeliveryState,
    NotificationDefinition,
)
from asyncgate.notifications.outbox import record_dispatched_events

_INSERT_DELIVERIES = insert(cast(Table, CalloutDelivery.__table__))
# Built once: building and keying the statement cost more than running it (per transaction).
_ACTIVE_DEFINITIONS = (
    select(NotificationDefinition, Callout)
    .join(Callout, Callout.definition_id == NotificationDefinition.id)
    .where(
        NotificationDefinition.tenant_id.in_(bindparam("tenant_ids", expanding=True)),
        NotificationDefinition.active,
        NotificationDefinition.callout_active,
        Callout.active,
    )
    .order_by(NotificationDefinition.created_at, NotificationDefinition.id)
)
# Per transaction, the definitions already looked up, by tenant: a worker's transaction
# records the events of many requests, often of one tenant.
_DEFINITIONS = "asyncgate.definitions_by_tenant"


async def record_and_dispatch(
    session: AsyncSession, events: list[dict[str, object]], settings: Settings
) -> None:
    """Record ``events`` (``outbox.event_values``) and make their deliveries, in the session's
    transaction: an event is written once, already dispatched."""
    dispatched = await record_dispatched_events(session, events)
    await make_deliveries(session, dispatched, settings)


async def make_deliveries(
    session: AsyncSession, events: Sequence[Mapping[str, Any]], settings: Settings
) -> int:
    """Insert the deliveries of ``events`` (their ``id``, ``tenant_id``, ``event_type``,
    ``object_id`` and ``payload``); returns how many. As many as this process's sender has
    room for are handed to it once the transaction commits."""
    if not events:
        return 0
    definitions = await _definitions_of(session, {event["tenant_id"] for event in events})
    listened = {(row.tenant_id, row.event_type_name) for row, _ in definitions}
    wanted = [event for event in events if (event["tenant_id"], event["event_type"]) in listened]
    if not wanted:
        return 0
    policies = await settings_of_tenants(
        session, {event["tenant_id"] for event in wanted}, settings
    )
    taker = handoff.taker()
    room = 0 if taker is None else taker.room()
    now = utcnow()
    rows: list[dict[str, object]] = []
    handed: list[LoadedDelivery] = []
    waiting = False  # pending deliveries a sender of this process should claim
    for event in wanted:
        for definition, callout in definitions:
            if (definition.tenant_id, definition.event_type_name) != (
                event["tenant_id"],
                event["event_type"],
            ):
                continue
            tenant_settings = policies[event["tenant_id"]]
            row = {
                "id": new_id(),
                "tenant_id": event["tenant_id"],
                "event_id": event["id"],
                "definition_id": definition.id,
                "event_type": event["event_type"],
                "object_id": event["object_id"],
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "max_attempts": tenant_settings.max_attempts if callout.retry else 1,
                "next_attempt_at": now,
                "created_at": now,
                "lease_owner": None,
                "lease_expires_at": None,
            }
            accepted = taker is not None and taker.accepts(definition.id)
            if accepted and len(handed) < room:
                assert taker is not None
                row |= {
                    "state": DeliveryState.DELIVERING,
                    "lease_owner": taker.owner,
                    "lease_expires_at": taker.lease_expiry(),
                }
                handed.append(
                    LoadedDelivery(
                        id=row["id"],
                        tenant_id=row["tenant_id"],
                        definition_id=definition.id,
                        attempts=0,
                        max_attempts=row["max_attempts"],
                        payload=event["payload"],
                        definition=definition,
                        callout=callout,
                        tenant_settings=tenant_settings,
                    )
                )
            else:
                waiting = waiting or accepted
            rows.append(row)
    await execute_many(session, _INSERT_DELIVERIES, rows)
    handoff.hand_over_after_commit(session, taker, handed, waiting=waiting)
    return len(rows)


async def _definitions_of(
    session: AsyncSession, tenant_ids: set[str]
) -> list[tuple[NotificationDefinition, Callout]]:
    """The active definitions with an active callout of ``tenant_ids``, oldest first, looked up
    once per tenant and transaction."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_DEFINITIONS)
    if cached is None or cached[0] is not transaction:
        cached = session.info[_DEFINITIONS] = (transaction, {})
    known: dict[str, list[tuple[NotificationDefinition, Callout]]] = cached[1]
    missing = tenant_ids - known.keys()
    if missing:
        found = await session.execute(_ACTIVE_DEFINITIONS, {"tenant_ids": list(missing)})
        for tenant_id in missing:
            known[tenant_id] = []
        for definition, callout in found:
            known[definition.tenant_id].append((definition, callout))
    return [pair for tenant_id in tenant_ids for pair in known[tenant_id]]
