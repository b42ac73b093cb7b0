"""SQLite's inbox: accepted requests wait in a file of their own until a claim takes them in."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from asyncgate.app import create_app
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.queue import Lease
from asyncgate.asyncreq.queue.inbox import ACCEPTED, KEYED_LANE, SCHEMA_VERSION, Inbox
from asyncgate.asyncreq.worker import Worker, WorkerConfig
from asyncgate.auth.models import Tenant
from asyncgate.db import sqlite_on_loop
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata
from tests.asyncreq.support import ASYNC_TRIALS, accept, accepted_row, trial
from tests.conftest import BACKEND
from tests.factories import make_tenant
from tests.support.database import database_with_schema, settings_for

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the inbox is SQLite's")


async def in_queue(database) -> set[str]:
    """The IDs the queue holds, without taking anything in."""
    async with database.read_transaction() as session:
        return set((await session.scalars(select(AsyncRequest.id))).all())


def in_lane(inbox: Inbox, lane: int) -> set[str]:
    with sqlite3.connect(inbox.files[lane]) as connection:
        return {row[0] for row in connection.execute(f"SELECT id FROM {ACCEPTED.name}")}


def in_inbox(inbox: Inbox) -> set[str]:
    """The IDs every lane of the inbox holds."""
    return set().union(*(in_lane(inbox, lane) for lane in range(len(inbox.files))))


async def take_in(database, inbox: Inbox, room: int = 1000) -> int:
    """Take in up to ``room`` requests, claimed by nobody in particular; returns how many."""
    now = utcnow()
    async with database.core_transaction() as connection:
        lease = Lease("taking-in", now + timedelta(minutes=1))
        return len(await inbox.claim(connection, lease, room, now))


class TestTakingIn:
    async def test_an_accepted_request_waits_in_the_inbox_until_a_claim_takes_it_in(
        self, app, client, tenant, database, worker
    ):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        assert request_id in in_inbox(app.state.queue.inbox)
        assert request_id not in await in_queue(database)

        claimed = await worker.claim(10)

        assert [(request.id, request.attempts) for request in claimed] == [(request_id, 1)]
        async with database.read_transaction() as session:
            stored = await session.get(AsyncRequest, request_id)
            assert (stored.state, stored.attempts) == (State.RUNNING, 1)
            assert stored.lease_owner == worker.owner
            assert stored.lease_expires_at > stored.started_at
            assert not await app.state.queue.inbox.pending()

    async def test_a_claim_takes_the_queue_first_and_fills_up_from_the_inbox(
        self, app, client, tenant, database, worker
    ):
        waiting = await accept(client, tenant, ASYNC_TRIALS, trial())
        await take_in(database, app.state.queue.inbox)
        async with database.transaction() as session:  # queued again, as a retry would be
            await session.execute(
                update(AsyncRequest).where(AsyncRequest.id == waiting).values(state=State.QUEUED)
            )
        accepted = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(3)]

        first = await worker.claim(2)

        assert [request.id for request in first] == [waiting, accepted[0]]
        async with database.read_transaction() as session:
            states = dict(
                (await session.execute(select(AsyncRequest.id, AsyncRequest.state))).all()
            )
        # The rest wait in the inbox, not in the queue, until a claim has room for them.
        assert states == {waiting: State.RUNNING, accepted[0]: State.RUNNING}
        assert [request.id for request in await worker.claim(10)] == accepted[1:]

    async def test_a_claim_takes_the_requests_due_first_whichever_lane_holds_them(
        self, app, tenant, database, worker
    ):
        inbox, now = app.state.queue.inbox, utcnow()
        earliest, middle, latest = (
            accepted_row(tenant, run_after=now - timedelta(milliseconds=n)) for n in (3, 2, 1)
        )
        await inbox.append([earliest, latest], lane=KEYED_LANE)
        await inbox.append([middle], lane=KEYED_LANE + 1)

        assert [request.id for request in await worker.claim(2)] == [earliest["id"], middle["id"]]
        assert [request.id for request in await worker.claim(2)] == [latest["id"]]

    async def test_each_request_is_taken_in_once(self, app, client, tenant, database):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        assert await take_in(database, app.state.queue.inbox) == 1
        assert await take_in(database, app.state.queue.inbox) == 0
        async with database.read_transaction() as session:
            count = await session.scalar(select(func.count()).where(AsyncRequest.id == request_id))
        assert count == 1

    async def test_a_take_in_rolled_back_leaves_the_requests_to_take_in_again(
        self, app, client, tenant, database
    ):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        with pytest.raises(RuntimeError):
            async with database.core_transaction() as connection:
                lease = Lease("doomed", utcnow() + timedelta(minutes=1))
                await app.state.queue.inbox.claim(connection, lease, 10, utcnow())
                raise RuntimeError("the worker died before its commit")
        assert request_id not in await in_queue(database)

        assert await take_in(database, app.state.queue.inbox) == 1
        assert request_id in await in_queue(database)

    async def test_requests_of_a_tenant_deleted_before_they_are_taken_in_go_with_it(
        self, app, client, tenant, database
    ):
        # Deleting a tenant deletes its queued requests; those still in the inbox go too.
        doomed = await make_tenant(database)
        kept = await accept(client, tenant, ASYNC_TRIALS, trial())
        dropped = await accept(client, doomed, ASYNC_TRIALS, trial())
        async with database.transaction() as session:
            await session.execute(delete(Tenant).where(Tenant.id == doomed.tenant_id))

        assert await take_in(database, app.state.queue.inbox) == 1
        queue = await in_queue(database)
        assert kept in queue
        assert dropped not in queue


class TestLanes:
    """Accepts commit to whichever lane (file) of the inbox has no commit in flight."""

    @pytest.fixture
    def keyed_lane_open(self, app, monkeypatch):
        """Commits to the keyed lane go through while this event is set (it starts set);
        commits to the other lane always do. ``committing`` lists the lanes commits went to."""
        inbox = app.state.queue.inbox
        append = inbox.append
        keyed_lane_open = asyncio.Event()
        keyed_lane_open.set()
        keyed_lane_open.committing = []

        async def append_when_open(rows, lane):
            keyed_lane_open.committing.append(lane)
            if lane == KEYED_LANE:
                await keyed_lane_open.wait()
            return await append(rows, lane)

        monkeypatch.setattr(inbox, "append", append_when_open)
        return keyed_lane_open

    @staticmethod
    async def hold_the_keyed_lane(client, tenant, keyed_lane_open) -> asyncio.Task[str]:
        """An accept whose commit is stuck in the keyed lane, which it took being free."""
        await accept(client, tenant, ASYNC_TRIALS, trial())  # the token is now cached
        keyed_lane_open.clear()
        keyed_lane_open.committing.clear()
        stuck = asyncio.create_task(accept(client, tenant, ASYNC_TRIALS, trial()))
        while keyed_lane_open.committing != [KEYED_LANE]:
            await asyncio.sleep(0.001)
        return stuck

    async def test_an_accept_is_answered_while_another_lane_is_still_committing(
        self, app, client, tenant, database, keyed_lane_open
    ):
        stuck = await self.hold_the_keyed_lane(client, tenant, keyed_lane_open)

        second = await asyncio.wait_for(accept(client, tenant, ASYNC_TRIALS, trial()), 5)

        assert not stuck.done()
        keyed_lane_open.set()
        first = await stuck
        assert first in in_lane(app.state.queue.inbox, KEYED_LANE)
        assert second in in_lane(app.state.queue.inbox, 1)
        # Both are taken in, once each.
        await take_in(database, app.state.queue.inbox)
        assert {first, second} <= await in_queue(database)
        assert await take_in(database, app.state.queue.inbox) == 0

    async def test_a_request_with_an_idempotency_key_waits_for_the_keyed_lane(
        self, app, client, tenant, keyed_lane_open
    ):
        stuck = await self.hold_the_keyed_lane(client, tenant, keyed_lane_open)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = trial()
        keyed = asyncio.create_task(accept(client, tenant, ASYNC_TRIALS, body, headers=key))
        # An accept without a key goes through the free lane meanwhile.
        await asyncio.wait_for(accept(client, tenant, ASYNC_TRIALS, trial()), 5)
        assert not keyed.done()

        keyed_lane_open.set()
        await stuck
        keyed_id = await keyed
        assert keyed_id in in_lane(app.state.queue.inbox, KEYED_LANE)
        assert await accept(client, tenant, ASYNC_TRIALS, body, headers=key) == keyed_id


def recorded(steps: list[str]):
    """``Connection.write_transaction`` that notes each transaction in ``steps``."""
    write_transaction = sqlite_on_loop.Connection.write_transaction

    def noted(self):
        steps.append("delete")
        return write_transaction(self)

    return noted


class TestPruning:
    async def test_requests_taken_in_are_pruned_but_keyed_ones_stay(
        self, app, client, tenant, database
    ):
        inbox = app.state.queue.inbox
        plain = await accept(client, tenant, ASYNC_TRIALS, trial())
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = trial()
        keyed = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
        await take_in(database, inbox)

        await inbox.prune(force=True)

        assert plain not in in_inbox(inbox)
        assert keyed in in_inbox(inbox)
        # The repeat is still recognised, and finds the first request.
        assert await accept(client, tenant, ASYNC_TRIALS, body, headers=key) == keyed

    async def test_the_queues_log_is_synced_before_anything_is_pruned(
        self, app, client, tenant, database, monkeypatch
    ):
        # Claims commit unsynced: a row is deleted only once the claim that took it in is on
        # disk, or the machine's crash could lose both copies.
        inbox, steps = app.state.queue.inbox, []
        await accept(client, tenant, ASYNC_TRIALS, trial())
        await take_in(database, inbox)
        sync_log = Database.sync_log

        async def recorded_sync(self):
            steps.append("sync")
            await sync_log(self)

        monkeypatch.setattr(Database, "sync_log", recorded_sync)
        monkeypatch.setattr(sqlite_on_loop.Connection, "write_transaction", recorded(steps))

        assert await inbox.prune(force=True) == 1
        assert steps[0] == "sync" and "delete" in steps

    async def test_nothing_is_pruned_before_it_is_taken_in(self, app, client, tenant):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        await app.state.queue.inbox.prune(force=True)
        assert request_id in in_inbox(app.state.queue.inbox)

    async def test_requests_accepted_after_a_prune_are_taken_in(
        self, app, client, tenant, database
    ):
        # Numbers freed by the prune are never handed out again, so none falls behind the mark.
        inbox = app.state.queue.inbox
        for _ in range(3):
            await accept(client, tenant, ASYNC_TRIALS, trial())
        await take_in(database, inbox)
        await inbox.prune(force=True)
        assert not in_inbox(inbox)

        later = await accept(client, tenant, ASYNC_TRIALS, trial())

        assert await take_in(database, inbox) == 1
        assert later in await in_queue(database)


async def test_a_new_inbox_starts_with_the_keys_the_queue_holds(tmp_path):
    """A request stored under a key before the inbox existed is still the key's first."""
    settings = settings_for(f"sqlite:///{tmp_path / 'older.db'}", tmp_path / "data")
    async with database_with_schema(settings) as database:
        tenant = await make_tenant(database)
        first = accepted_row(
            tenant, path="/v1/accounts", body=b'{"name": "Acme"}', idempotency_key="order-17"
        )
        async with database.core_transaction() as connection:
            await connection.execute(metadata.tables[AsyncRequest.__tablename__].insert(), first)
        app = create_app(settings, database)
        try:
            queue = app.state.queue
            repeat = first | {"id": str(uuid.uuid4())}
            assert await queue.accept(repeat) == first["id"]
            different = repeat | {"id": str(uuid.uuid4()), "body": b'{"name": "Other"}'}
            with pytest.raises(Exception, match="already used for a different request"):
                await queue.accept(different)
            # The new lane holds a copy of the queue's request: it is still claimed once.
            worker = Worker(app, database, WorkerConfig())
            assert [request.id for request in await worker.claim(10)] == [first["id"]]
        finally:
            app.state.queue.close()


async def test_a_new_inbox_numbers_its_requests_after_those_taken_in_before(
    app, client, tenant, database
):
    """An inbox lost (or removed) beside a queue that has taken requests in before: the new
    one's requests are still taken in."""
    for _ in range(3):
        await accept(client, tenant, ASYNC_TRIALS, trial())
    await take_in(database, app.state.queue.inbox)
    app.state.queue.inbox.close()
    for file in app.state.queue.inbox.files:
        for suffix in ("", "-wal", "-shm"):
            Path(file + suffix).unlink(missing_ok=True)

    later = await accept(client, tenant, ASYNC_TRIALS, trial())

    assert await take_in(database, app.state.queue.inbox) == 1
    assert later in await in_queue(database)


class TestCancelling:
    async def test_a_waiting_request_is_marked_without_taking_in_what_came_before(
        self, app, client, tenant, database, worker, monkeypatch
    ):
        inbox = app.state.queue.inbox
        backlog = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(5)]
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        claims = []
        monkeypatch.setattr(inbox, "claim", lambda *args: claims.append(args))

        response = await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)

        assert response.status_code == 200, response.text
        assert response.json()["state"] == "cancelled"
        assert claims == []  # nothing was taken in
        assert await in_queue(database) == set()
        monkeypatch.undo()
        # Taken in as cancelled by the claim that reaches it, and never claimed.
        claimed = await worker.claim(10)
        assert [request.id for request in claimed] == backlog
        async with database.read_transaction() as session:
            cancelled = await session.get(AsyncRequest, request_id)
        assert (cancelled.state, cancelled.attempts) == (State.CANCELLED, 0)
        assert cancelled.completed_at is not None

    async def test_a_marked_request_is_counted_nowhere(self, app, client, tenant, database):
        queue = app.state.queue
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        async with database.read_transaction() as session:
            assert await queue.not_yet_listed(session, tenant.tenant_id) == 0
            assert (await queue.backlog(session, utcnow())).queued == 0


async def test_an_inbox_of_the_first_version_gains_cancellation_marks(tmp_path):
    """An inbox created by a version without cancels: requests waiting in it can be
    cancelled once it is opened again."""
    settings = settings_for(f"sqlite:///{tmp_path / 'older.db'}", tmp_path / "data")
    async with database_with_schema(settings) as database:
        tenant = await make_tenant(database)
        app = create_app(settings, database)
        queue = app.state.queue
        waiting = accepted_row(tenant)
        await queue.accept(waiting)
        queue.close()
        for file in queue.files:  # as the first version left it
            with sqlite3.connect(file) as connection:
                connection.execute(f"ALTER TABLE {ACCEPTED.name} DROP COLUMN cancelled_at")
                connection.execute("PRAGMA user_version=1")

        app = create_app(settings, database)
        queue = app.state.queue
        try:
            async with database.transaction() as session:
                now = utcnow()
                cancelled = await queue.cancel(session, tenant.tenant_id, waiting["id"], now)
            assert cancelled.state == State.CANCELLED
            for file in queue.files:
                with sqlite3.connect(file) as connection:
                    assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        finally:
            queue.close()


async def test_a_deleted_request_is_not_found_in_the_inbox_it_was_taken_from(
    app, client, tenant, database, worker
):
    request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
    await worker.claim(10)  # taken in; the inbox prunes its copy later
    async with database.transaction() as session:
        await session.execute(delete(AsyncRequest).where(AsyncRequest.id == request_id))
    assert request_id in in_inbox(app.state.queue.inbox)

    response = await client.get(f"/v1/async-requests/{request_id}", headers=tenant.headers)

    assert response.status_code == 404
