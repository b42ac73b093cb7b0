"""Bulk execution: async account creations run many at a time, answering as the route would.

Each test compares what the worker stored for an async request with what the synchronous route
answers for the same body, so a bulk handler that drifted from its route fails here.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Table, select, update

from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.worker import BULK_RUN_SIZE, CONTENDED_RUN_SIZE
from asyncgate.billing.accounts.models import Account, AccountStatus
from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.contacts.schemas import ContactFields
from asyncgate.billing.contacts.service import new_contact
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.db.writer_turns import WriterTurns
from asyncgate.notifications.outbox import EventType
from tests.asyncreq.support import accept, events_of, stored
from tests.billing.api import OBJECT_ID, account_body, contact_body, get_account, stored_rows
from tests.conftest import BACKEND
from tests.factories import TenantContext

ASYNC_ACCOUNTS = "/v1/async/accounts"
IDENTIFIERS = ("accountId", "accountNumber", "billToContactId", "soldToContactId", "id")


def without_identifiers(document: Any) -> Any:
    """``document`` with every ID and number masked, so two creations can be compared."""
    if isinstance(document, dict):
        return {
            key: "<id>" if key in IDENTIFIERS else without_identifiers(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [without_identifiers(item) for item in document]
    return document


async def sync_answer(client: httpx.AsyncClient, tenant: TenantContext, body: dict) -> Any:
    response = await client.post("/v1/accounts", json=body, headers=tenant.headers)
    return response.status_code, response.json()


async def stored_answer(database: Database, request_id: str) -> tuple[int, Any]:
    request = await stored(database, request_id)
    return request.response_status, orjson.loads(request.response_body)


def write_transactions(statements: list[str]) -> int:
    """The write transactions among ``statements``, not counting the renewals of concurrency
    leases that apps of earlier tests may still be making (each has one DELETE of them)."""
    renewals = sum(s.startswith("DELETE FROM concurrency_leases") for s in statements)
    return sum(s.startswith("BEGIN IMMEDIATE") for s in statements) - renewals


async def row_of(database: Database, table: Table, row_id: str) -> dict[str, Any]:
    async with database.transaction() as session:
        return dict(
            (await session.execute(select(table).where(table.c.id == row_id))).one()._mapping
        )


def without_keys(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without the columns that differ between any two creations."""
    differing = {"id", "account_id", "account_number", "bill_to_contact_id", "sold_to_contact_id"}
    return {
        column: value
        for column, value in row.items()
        if column not in differing | {"created_at", "updated_at"}
    }


BODIES = {
    "minimal": account_body(),
    "separate sold-to contact": account_body(soldToContact=contact_body(firstName="Sold")),
    "other currency, crm id": account_body(currency="EUR", crmId="crm-7"),
    "custom fields and defaults": account_body(
        billCycleDay=15, paymentTerm="Net 30", autoPay=False, Region__c="EMEA"
    ),
}


async def test_bulk_answers_and_accounts_equal_the_routes(
    client, fresh_tenant, database, worker, statements
):
    accepted = {
        name: await accept(client, fresh_tenant, ASYNC_ACCOUNTS, body)
        for name, body in BODIES.items()
    }
    await worker.run_once()
    # One bulk run: rows with the same columns share a multi-row INSERT.
    assert sum(s.startswith("INSERT INTO accounts") for s in statements) < len(BODIES)

    for name, request_id in accepted.items():
        status, answer = await stored_answer(database, request_id)
        expected_status, expected = await sync_answer(client, fresh_tenant, BODIES[name])
        assert (status, without_identifiers(answer)) == (
            expected_status,
            without_identifiers(expected),
        ), name
        async_detail = await get_account(client, fresh_tenant, answer["accountId"])
        sync_detail = await get_account(client, fresh_tenant, expected["accountId"])
        assert without_identifiers(async_detail) == without_identifiers(sync_detail), name
        [event_] = await events_of(database, request_id)
        assert event_.payload["data"] == {"id": answer["accountId"]}


async def test_bulk_numbers_are_consecutive_and_skip_numbers_taken_explicitly(
    client, fresh_tenant, database, worker
):
    taken = await sync_answer(client, fresh_tenant, account_body(accountNumber="A00000002"))
    assert taken[0] == 200
    ids = [await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body()) for _ in range(3)]
    await worker.run_once()
    numbers = [(await stored_answer(database, i))[1]["accountNumber"] for i in ids]
    assert numbers == ["A00000001", "A00000003", "A00000004"]


async def test_an_invalid_body_in_a_run_is_answered_by_the_route(
    client, fresh_tenant, database, worker
):
    invalid = account_body(currency="dollars")
    first = await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body())
    bad = await accept(client, fresh_tenant, ASYNC_ACCOUNTS, invalid)
    last = await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body())
    await worker.run_once()

    assert (await stored(database, first)).state == State.SUCCEEDED
    assert (await stored(database, last)).state == State.SUCCEEDED
    refused = await stored(database, bad)
    status, answer = await sync_answer(client, fresh_tenant, invalid)
    assert refused.state == State.FAILED
    assert refused.response_status == status == 400
    assert orjson.loads(refused.response_body)["reasons"] == answer["reasons"]


async def test_a_clash_undoes_the_run_and_each_request_gets_its_own_answer(
    client, fresh_tenant, database, worker
):
    await sync_answer(client, fresh_tenant, account_body(accountNumber="TAKEN-1"))
    before = await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body())
    clash = await accept(
        client, fresh_tenant, ASYNC_ACCOUNTS, account_body(accountNumber="TAKEN-1")
    )
    after = await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body())
    await worker.run_once()

    assert (await stored(database, before)).state == State.SUCCEEDED
    assert (await stored(database, after)).state == State.SUCCEEDED
    failed = await stored(database, clash)
    assert (failed.state, failed.response_status) == (State.FAILED, 409)
    numbers = {(await stored_answer(database, i))[1]["accountNumber"] for i in (before, after)}
    assert len(numbers) == 2


async def test_runs_are_bounded_and_every_request_of_a_large_batch_succeeds(
    client, fresh_tenant, database, make_worker, statements
):
    count = 2 * BULK_RUN_SIZE + 3
    ids = [await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body()) for _ in range(count)]
    await make_worker(batch_size=count).run_once()
    assert {(await stored(database, i)).state for i in ids} == {State.SUCCEEDED}
    assert sum(s.startswith("INSERT INTO accounts") for s in statements) == 3


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single writer only")
async def test_runs_are_short_while_another_process_waits_to_write(
    client, fresh_tenant, database, make_worker, statements
):
    """An accept of the API's process waiting for the write lock waits for the run in progress
    only: while one waits, runs shrink and each ends the worker's transaction."""
    ids = [
        await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body())
        for _ in range(BULK_RUN_SIZE)
    ]
    statements.clear()
    other_process = WriterTurns(database.sqlite_file)
    try:
        with other_process.waiting() as keep_marked:
            keep_marked()
            await make_worker(batch_size=BULK_RUN_SIZE).run_once()
    finally:
        other_process.close()
    runs = math.ceil(BULK_RUN_SIZE / CONTENDED_RUN_SIZE)
    assert sum(s.startswith("INSERT INTO accounts") for s in statements) == runs
    # One transaction for the claim, one for the tenant's share of its quotas, then one per run.
    assert write_transactions(statements) == 2 + runs
    assert {(await stored(database, i)).state for i in ids} == {State.SUCCEEDED}


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single writer only")
async def test_a_worker_with_nothing_due_leaves_the_write_lock_alone(worker, statements):
    """Workers wake up at every commit of any process: finding nothing to do must not take
    the write lock from the writers that woke them."""
    assert await worker.run_once() == 0
    assert write_transactions(statements) == 0


async def test_bulk_rows_take_the_defaults_an_orm_creation_takes(
    client, fresh_tenant, database, worker
):
    """Bulk creation writes rows without ORM objects: every column it leaves out must come out
    as the ORM's own insert of an account and its contact sets it."""
    body = account_body()
    request_id = await accept(client, fresh_tenant, ASYNC_ACCOUNTS, body)
    started = utcnow()
    await worker.run_once()
    _, answer = await stored_answer(database, request_id)
    async with database.transaction() as session:
        reference = Account(
            tenant_id=fresh_tenant.tenant_id,
            account_number="REFERENCE-1",
            name=body["name"],
            currency=body["currency"],
            status=AccountStatus.ACTIVE,
            custom_fields={},
        )
        fields = ContactFields.model_validate(body["billToContact"])
        reference.bill_to_contact = new_contact(fresh_tenant.tenant_id, reference, fields)
        reference.sold_to_contact = reference.bill_to_contact
        session.add(reference)
        await session.flush()
        reference_ids = reference.id, reference.bill_to_contact_id

    accounts, contacts = Account.__table__, Contact.__table__
    account = await row_of(database, accounts, answer["accountId"])
    contact = await row_of(database, contacts, answer["billToContactId"])
    assert without_keys(account) == without_keys(await row_of(database, accounts, reference_ids[0]))
    assert without_keys(contact) == without_keys(await row_of(database, contacts, reference_ids[1]))
    assert OBJECT_ID.match(account["id"]) and OBJECT_ID.match(contact["id"])
    assert account["bill_to_contact_id"] == account["sold_to_contact_id"] == contact["id"]
    assert contact["account_id"] == account["id"]
    # As with the ORM, setting the account's contacts is an update that moves ``updated_at``.
    for row in (account, contact):
        assert started <= row["created_at"] <= row["updated_at"] < started + timedelta(seconds=5)


async def test_every_request_of_a_bulk_run_has_one_event_of_its_own(
    client, fresh_tenant, database, worker, statements
):
    started = utcnow()
    ids = [
        await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body())
        for _ in range(BULK_RUN_SIZE)
    ]
    await worker.run_once()
    # The run's events share one INSERT.
    assert sum(s.startswith("INSERT INTO outbox_events") for s in statements) == 1

    events = []
    for request_id in ids:
        [event_] = await events_of(database, request_id)
        _, answer = await stored_answer(database, request_id)
        assert event_.tenant_id == fresh_tenant.tenant_id
        assert event_.event_type == EventType.ASYNC_REQUEST_SUCCEEDED
        assert event_.payload["request"]["id"] == request_id
        assert event_.payload["data"] == {"id": answer["accountId"]}
        assert event_.created_at >= started
        assert event_.dispatched_at is not None  # its deliveries were made in the same commit
        events.append(event_)
    assert all(OBJECT_ID.match(event_.id) for event_ in events)
    assert len({event_.id for event_ in events}) == len(ids)


async def test_a_lost_lease_in_a_bulk_run_undoes_only_that_request(
    client, fresh_tenant, database, worker
):
    ids = [await accept(client, fresh_tenant, ASYNC_ACCOUNTS, account_body()) for _ in range(3)]
    claimed = await worker.claim(10)
    taken_over = ids[1]
    async with database.transaction() as session:  # reclaimed by another worker meanwhile
        await session.execute(
            update(AsyncRequest)
            .where(AsyncRequest.id == taken_over)
            .values(lease_owner="worker-other", attempts=AsyncRequest.attempts + 1)
        )
    await worker.execute_batch(claimed)

    for request_id in (ids[0], ids[2]):
        assert (await stored(database, request_id)).state == State.SUCCEEDED
        assert len(await events_of(database, request_id)) == 1
    other = await stored(database, taken_over)
    assert (other.state, other.lease_owner, other.response_body) == (
        State.RUNNING,
        "worker-other",
        None,
    )
    assert await events_of(database, taken_over) == []
    assert (await stored_rows(database, fresh_tenant))[0] == 2
