"""``Idempotency-Key``: a repeat answers as the first did and performs nothing again."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from asyncgate.db.base import utcnow
from asyncgate.http import idempotency
from asyncgate.http.errors import Category
from asyncgate.http.idempotency import IdempotencyRecord
from tests.billing.api import account_body, stored_rows
from tests.http.assertions import assert_zuora_error
from tests.http.probe import FAILURES, TALLIES, tally_of

REPLAYED = "idempotent-replayed"


async def age_records(database, tenant, age: timedelta) -> None:
    """Make the tenant's idempotency records ``age`` old."""
    async with database.transaction() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.tenant_id == tenant.tenant_id)
            .values(created_at=utcnow() - age)
        )


async def records_of(database, tenant) -> list[str]:
    async with database.read_transaction() as session:
        found = await session.scalars(
            select(IdempotencyRecord.key).where(IdempotencyRecord.tenant_id == tenant.tenant_id)
        )
        return list(found.all())


def keyed(tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key}


class TestRepeats:
    async def test_a_repeat_returns_the_first_answer_and_performs_nothing(
        self, probe, tenant, database
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex

        first = await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))
        second = await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))

        assert first.status_code == second.status_code == 200
        assert first.json() == second.json() == {"success": True, "counter": counter, "value": 1}
        assert REPLAYED not in first.headers
        assert second.headers[REPLAYED] == "true"
        assert second.headers["content-type"] == "application/json"
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_a_replay_gets_its_own_request_id(self, probe, tenant):
        body, key = {"counter": uuid.uuid4().hex}, uuid.uuid4().hex

        first = await probe.post(TALLIES, json=body, headers=keyed(tenant, key))
        second = await probe.post(TALLIES, json=body, headers=keyed(tenant, key))

        assert first.headers["zuora-request-id"] != second.headers["zuora-request-id"]

    async def test_without_a_key_every_request_is_performed(self, probe, tenant, database):
        counter = uuid.uuid4().hex

        for _ in range(2):
            await probe.post(TALLIES, json={"counter": counter}, headers=tenant.headers)

        assert await tally_of(database, tenant.tenant_id, counter) == 2

    async def test_a_refused_request_is_answered_the_same_again(self, probe, tenant, database):
        """Zuora's guide: the answer is saved "regardless of whether it succeeded or failed"."""
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        body = {"counter": counter, "waitFor": "x"}

        refused = await probe.post(TALLIES, json=body, headers=keyed(tenant, key))
        repeated = await probe.post(TALLIES, json=body, headers=keyed(tenant, key))

        assert refused.status_code == repeated.status_code == 400
        assert repeated.content == refused.content
        assert repeated.headers[REPLAYED] == "true"
        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_a_server_error_is_not_remembered(self, probe, tenant, database):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex

        crashed = await probe.post(FAILURES, json={"counter": counter}, headers=keyed(tenant, key))
        # A server error may pass: the key is still free for the retry.
        retried = await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))

        assert crashed.status_code == 500
        assert retried.status_code == 200
        assert REPLAYED not in retried.headers
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_an_expired_key_may_be_used_again(self, probe, tenant, database):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))
        await age_records(database, tenant, timedelta(hours=24, seconds=1))

        again = await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))

        assert again.status_code == 200
        assert REPLAYED not in again.headers
        assert again.json()["value"] == 2

    async def test_expired_records_are_pruned(self, probe, tenant, database):
        key = uuid.uuid4().hex
        await probe.post(TALLIES, json={"counter": key}, headers=keyed(tenant, key))
        await age_records(database, tenant, timedelta(hours=25))

        assert await idempotency.prune_expired(database, timedelta(hours=24)) >= 1
        assert await records_of(database, tenant) == []

    async def test_a_key_on_a_get_is_ignored(self, probe, tenant):
        response = await probe.get(
            "/v1/probe/padding", params={"size": 1}, headers=keyed(tenant, "x" * 300)
        )

        assert response.status_code == 200


class TestMisuse:
    async def test_the_same_key_with_a_different_body_is_refused_with_422(
        self, probe, tenant, database
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))

        response = await probe.post(
            TALLIES, json={"counter": counter, "note": "changed"}, headers=keyed(tenant, key)
        )

        body = assert_zuora_error(response, 422, Category.BUSINESS_RULE)
        assert "Idempotency-Key" in body["reasons"][0]["message"]
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_the_same_key_with_a_different_query_string_is_refused_with_422(
        self, probe, tenant
    ):
        body, key = {"counter": uuid.uuid4().hex}, uuid.uuid4().hex
        await probe.post(TALLIES, json=body, headers=keyed(tenant, key))

        response = await probe.post(
            TALLIES, params={"dryRun": "true"}, json=body, headers=keyed(tenant, key)
        )

        assert_zuora_error(response, 422, Category.BUSINESS_RULE)

    async def test_the_same_key_on_another_endpoint_is_refused_with_422(self, probe, tenant):
        body, key = {"counter": uuid.uuid4().hex}, uuid.uuid4().hex
        await probe.post(TALLIES, json=body, headers=keyed(tenant, key))

        response = await probe.post(FAILURES, json=body, headers=keyed(tenant, key))

        assert_zuora_error(response, 422, Category.BUSINESS_RULE)

    async def test_a_key_over_255_characters_is_refused_and_nothing_is_done(
        self, probe, tenant, database
    ):
        counter = uuid.uuid4().hex

        response = await probe.post(
            TALLIES, json={"counter": counter}, headers=keyed(tenant, "k" * 256)
        )

        body = assert_zuora_error(response, 400, Category.INVALID_VALUE)
        assert "Idempotency-Key" in body["reasons"][0]["message"]
        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_a_key_of_255_characters_is_accepted(self, probe, tenant):
        key = uuid.uuid4().hex + "k" * 223

        response = await probe.post(
            TALLIES, json={"counter": uuid.uuid4().hex}, headers=keyed(tenant, key)
        )

        assert response.status_code == 200

    async def test_a_bad_key_without_a_token_is_an_authentication_failure(self, probe):
        response = await probe.post(
            TALLIES, json={"counter": "c"}, headers={"Idempotency-Key": "k" * 256}
        )

        assert_zuora_error(response, 401, Category.AUTHENTICATION_FAILED)


class TestTenants:
    async def test_tenants_use_the_same_key_independently(
        self, probe, tenant, other_tenant, database
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex

        mine = await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))
        theirs = await probe.post(
            TALLIES, json={"counter": counter, "note": "theirs"}, headers=keyed(other_tenant, key)
        )

        assert mine.status_code == theirs.status_code == 200
        assert REPLAYED not in theirs.headers
        assert await tally_of(database, tenant.tenant_id, counter) == 1
        assert await tally_of(database, other_tenant.tenant_id, counter) == 1


class TestConcurrentRepeats:
    async def test_concurrent_repeats_perform_exactly_once(self, probe, tenant, database):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        # Each request waits in its handler until all five are inside (or a timeout passes).
        body = {"counter": counter, "waitFor": 5}

        responses = await asyncio.gather(
            *(probe.post(TALLIES, json=body, headers=keyed(tenant, key)) for _ in range(5))
        )

        statuses = sorted(r.status_code for r in responses)
        if database.concurrent_writers:
            # PostgreSQL: the first holds its key; the others are told it is in progress.
            assert statuses == [200, 409, 409, 409, 409], [r.text for r in responses]
            for refused in (r for r in responses if r.status_code == 409):
                assert_zuora_error(refused, 409, Category.LOCKING_CONTENTION)
        else:
            # SQLite lets one writer in at a time: the others replay the first's answer.
            assert statuses == [200] * 5, [r.text for r in responses]
            assert {r.content for r in responses} == {responses[0].content}
            assert sorted(r.headers.get(REPLAYED, "") for r in responses) == [""] + ["true"] * 4
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_repeats_that_raced_past_the_check_answer_as_the_first(
        self, probe, tenant, database, monkeypatch
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        body = {"counter": counter, "waitFor": 5}
        # As if each found the key free: on PostgreSQL all five run, four lose on the unique
        # key index and are answered by the recovery in UnitOfWorkRoute.
        recoveries = []
        recall = idempotency.recall

        async def counting_recall(*args, **kwargs):
            recoveries.append(await recall(*args, **kwargs))
            return recoveries[-1]

        async def always_free(*args):
            return True

        monkeypatch.setattr(idempotency, "recall", counting_recall)
        monkeypatch.setattr(idempotency, "_hold", always_free)

        responses = await asyncio.gather(
            *(probe.post(TALLIES, json=body, headers=keyed(tenant, key)) for _ in range(5))
        )

        assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
        assert {r.content for r in responses} == {responses[0].content}
        assert responses[0].json()["value"] == 1
        assert await tally_of(database, tenant.tenant_id, counter) == 1
        assert len(recoveries) == (4 if database.concurrent_writers else 0)
        assert all(response is not None for response in recoveries)

    async def test_concurrent_reuse_with_different_bodies_performs_one(
        self, probe, tenant, database
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex

        responses = await asyncio.gather(
            *(
                probe.post(
                    TALLIES,
                    json={"counter": counter, "note": str(n), "waitFor": 3},
                    headers=keyed(tenant, key),
                )
                for n in range(3)
            )
        )

        refused = 409 if database.concurrent_writers else 422  # in progress, or reused
        assert sorted(r.status_code for r in responses) == [200, refused, refused]
        assert await tally_of(database, tenant.tenant_id, counter) == 1


class TestOnAccounts:
    """The same guarantees on a real endpoint: ``POST /v1/accounts``."""

    async def test_a_repeated_account_creation_creates_one_account(self, probe, tenant, database):
        key = uuid.uuid4().hex

        first = await probe.post("/v1/accounts", json=account_body(), headers=keyed(tenant, key))
        second = await probe.post("/v1/accounts", json=account_body(), headers=keyed(tenant, key))

        assert first.status_code == second.status_code == 200, first.text
        assert first.json() == second.json()
        assert second.headers[REPLAYED] == "true"
        assert await stored_rows(database, tenant) == (1, 1)

    async def test_concurrent_account_creations_create_one_account(self, probe, tenant, database):
        key = uuid.uuid4().hex

        responses = await asyncio.gather(
            *(
                probe.post("/v1/accounts", json=account_body(), headers=keyed(tenant, key))
                for _ in range(5)
            )
        )

        created = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code != 200]
        # A repeat that comes while the first runs is told it is in progress (PostgreSQL; on
        # SQLite it waits): one that comes after replays the first's answer.
        assert len([r for r in created if REPLAYED not in r.headers]) == 1
        if not database.concurrent_writers:
            assert not refused, [r.text for r in refused]
        assert {r.status_code for r in refused} <= {409}
        assert len({r.json()["accountId"] for r in created}) == 1
        assert await stored_rows(database, tenant) == (1, 1)
