"""Leased work on a table of its own: claims, renewals, fences and rescues, on the test backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from asyncgate.db.base import UTCDateTime
from asyncgate.db.engine import Database
from asyncgate.db.leases import LeasedTable, Leases
from tests.conftest import BACKEND
from tests.support.clock import ManualClock
from tests.support.database import database_with_schema, settings_for

LENGTH = timedelta(minutes=1)
TRIALS = Table(
    "leased_trials",
    MetaData(),
    Column("id", String(8), primary_key=True),
    Column("state", String(10)),
    Column("attempts", Integer),
    Column("due_at", UTCDateTime),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
)
LEASED = LeasedTable(
    TRIALS,
    waiting="waiting",
    held="held",
    due="due_at",
    claim_sets={"attempts": TRIALS.c.attempts + 1},
)


@pytest.fixture(scope="module")
async def database(fresh_database_url, tmp_path_factory) -> AsyncIterator[Database]:
    settings = settings_for(fresh_database_url("leases"), tmp_path_factory.mktemp("leases"))
    async with database_with_schema(settings, TRIALS.metadata) as database:
        yield database


@pytest.fixture
async def clock(database: Database) -> ManualClock:
    async with database.core_transaction() as connection:
        await connection.execute(TRIALS.delete())
    return ManualClock()


async def add(database: Database, clock: ManualClock, *ids: str, due_in: float = -1) -> None:
    rows = [
        {"id": row_id, "state": "waiting", "attempts": 0, "due_at": clock.now()} for row_id in ids
    ]
    for row in rows:
        row["due_at"] += timedelta(seconds=due_in)
    async with database.core_transaction() as connection:
        await connection.execute(insert(TRIALS), rows)


async def claim(leases: Leases, limit: int = 10) -> list[str]:
    now = leases.clock.now()
    parameters = {
        "now": now,
        "limit": limit,
        "owner": leases.owner,
        "lease_expires_at": leases.expiry(now),
    }
    async with leases.database.core_transaction() as connection:
        claimed = [
            row.id for row in await connection.execute(leases.claim_statement(("id",)), parameters)
        ]
    leases.took(claimed)
    return claimed


async def rows(database: Database) -> dict[str, Any]:
    async with database.read_transaction() as session:
        found = await session.execute(select(TRIALS).order_by(TRIALS.c.id))
        return {row.id: row for row in found}


def holder(database: Database, clock: ManualClock, owner: str) -> Leases:
    return Leases(LEASED, database, owner, LENGTH, clock)


async def test_a_claim_takes_due_rows_longest_due_first_and_counts_an_attempt(database, clock):
    await add(database, clock, "b", due_in=-1)
    await add(database, clock, "a", due_in=-2)
    await add(database, clock, "later", due_in=60)
    mine = holder(database, clock, "me")

    assert await claim(mine, limit=1) == ["a"]
    assert await claim(mine) == ["b"]
    stored = await rows(database)
    assert (stored["a"].state, stored["a"].attempts, stored["a"].lease_owner) == ("held", 1, "me")
    assert stored["a"].lease_expires_at == clock.now() + LENGTH
    assert stored["later"].state == "waiting"


async def test_concurrent_claims_take_each_row_once(database, clock):
    ids = [f"r{n}" for n in range(30)]
    await add(database, clock, *ids)
    holders = [holder(database, clock, f"h{n}") for n in range(3)]

    async def until_empty(leases: Leases) -> list[str]:
        taken: list[str] = []
        while batch := await claim(leases, limit=2):
            taken += batch
        return taken

    taken = await asyncio.gather(*map(until_empty, holders))
    assert sorted(row for batch in taken for row in batch) == sorted(ids)


async def test_a_holder_renews_only_what_it_still_holds(database, clock):
    await add(database, clock, "kept", "given-up", "theirs")
    mine, theirs = holder(database, clock, "me"), holder(database, clock, "them")
    await claim(mine, limit=2)
    await claim(theirs)
    mine.gave_up(["given-up"])
    claimed_at = clock.now()
    clock.advance(30)

    await mine.extend()

    stored = await rows(database)
    assert stored["kept"].lease_expires_at == clock.now() + LENGTH
    assert stored["given-up"].lease_expires_at == claimed_at + LENGTH
    assert stored["theirs"].lease_expires_at == claimed_at + LENGTH


async def test_a_fenced_change_needs_the_holder_and_its_attempt(database, clock):
    await add(database, clock, "r")
    mine = holder(database, clock, "me")
    await claim(mine)
    finish = LEASED.settle(frozenset({"state"}))
    done = {"state": "done"}

    async with database.core_transaction() as connection:
        stranger = await connection.execute(
            finish, holder(database, clock, "x").settled("r", 1, done)
        )
        stale = await connection.execute(finish, mine.settled("r", 0, done))
        owned = await connection.execute(finish, mine.settled("r", 1, done))

    assert (stranger.rowcount, stale.rowcount, owned.rowcount) == (0, 0, 1)


async def test_rows_whose_lease_expired_are_found_for_rescue(database, clock):
    await add(database, clock, "stalled", "alive")
    stalled, alive = holder(database, clock, "stalled"), holder(database, clock, "alive")
    await claim(stalled, limit=1)
    clock.advance(LENGTH / 2)
    await claim(alive)
    clock.advance(LENGTH / 2 + timedelta(seconds=1))

    async with database.core_transaction() as connection:
        expired = await connection.execute(
            alive.expired_statement(), {"now": clock.now(), "limit": 10}
        )
        assert [row.id for row in expired] == ["stalled"]


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks: SQLite has one writer at a time")
async def test_a_renewal_skips_rows_being_settled_instead_of_deadlocking_with_their_transaction(
    database, clock
):
    await add(database, clock, "a", "b")
    mine = holder(database, clock, "me")
    await claim(mine)
    clock.advance(30)
    finish = LEASED.settle(frozenset({"state"}))
    done = {"state": "done"}

    async with database.core_transaction() as settling:
        await settling.execute(finish, mine.settled("b", 1, done))
        renewal = asyncio.create_task(mine.extend())  # while b's row is locked
        await asyncio.sleep(0.2)
        await settling.execute(finish, mine.settled("a", 1, done))
    await renewal

    stored = await rows(database)
    assert (stored["a"].state, stored["b"].state) == ("done", "done")
