"""``Idempotency-Key``: a repeat answers as the first did and performs nothing again."""

from __future__ import annotations

import asyncio
import uuid

from asyncgate.http import idempotency
from asyncgate.http.errors import Category
from tests.billing.api import account_body, stored_rows
from tests.http.assertions import assert_zuora_error
from tests.http.probe import FAILURES, TALLIES, tally_of

REPLAYED = "idempotent-replayed"


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

    async def test_a_failed_request_is_not_remembered(self, probe, tenant, database):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex

        refused = await probe.post(
            TALLIES, json={"counter": counter, "waitFor": "x"}, headers=keyed(tenant, key)
        )
        crashed = await probe.post(FAILURES, json={"counter": counter}, headers=keyed(tenant, key))
        # The key is still free for the corrected request.
        corrected = await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))

        assert (refused.status_code, crashed.status_code) == (400, 500)
        assert corrected.status_code == 200
        assert REPLAYED not in corrected.headers
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_a_key_on_a_get_is_ignored(self, probe, tenant):
        response = await probe.get(
            "/v1/probe/padding", params={"size": 1}, headers=keyed(tenant, "x" * 300)
        )

        assert response.status_code == 200


class TestMisuse:
    async def test_the_same_key_with_a_different_body_is_refused_with_409(
        self, probe, tenant, database
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        await probe.post(TALLIES, json={"counter": counter}, headers=keyed(tenant, key))

        response = await probe.post(
            TALLIES, json={"counter": counter, "note": "changed"}, headers=keyed(tenant, key)
        )

        body = assert_zuora_error(response, 409, Category.BUSINESS_RULE)
        assert "Idempotency-Key" in body["reasons"][0]["message"]
        assert await tally_of(database, tenant.tenant_id, counter) == 1

    async def test_the_same_key_with_a_different_query_string_is_refused_with_409(
        self, probe, tenant
    ):
        body, key = {"counter": uuid.uuid4().hex}, uuid.uuid4().hex
        await probe.post(TALLIES, json=body, headers=keyed(tenant, key))

        response = await probe.post(
            TALLIES, params={"dryRun": "true"}, json=body, headers=keyed(tenant, key)
        )

        assert_zuora_error(response, 409, Category.BUSINESS_RULE)

    async def test_the_same_key_on_another_endpoint_is_refused_with_409(self, probe, tenant):
        body, key = {"counter": uuid.uuid4().hex}, uuid.uuid4().hex
        await probe.post(TALLIES, json=body, headers=keyed(tenant, key))

        response = await probe.post(FAILURES, json=body, headers=keyed(tenant, key))

        assert_zuora_error(response, 409, Category.BUSINESS_RULE)

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
    async def test_concurrent_repeats_perform_exactly_once(
        self, probe, tenant, database, monkeypatch
    ):
        counter, key = uuid.uuid4().hex, uuid.uuid4().hex
        # Each request waits in its handler until all five are inside. PostgreSQL lets them in
        # together, so four lose on the unique key index and must be answered by the recovery
        # in UnitOfWorkRoute; SQLite's write lock lets one in at a time, so four are answered
        # from the store before their handlers run.
        body = {"counter": counter, "waitFor": 5}
        recoveries = []
        recall = idempotency.recall

        async def counting_recall(*args, **kwargs):
            recoveries.append(await recall(*args, **kwargs))
            return recoveries[-1]

        monkeypatch.setattr(idempotency, "recall", counting_recall)

        responses = await asyncio.gather(
            *(probe.post(TALLIES, json=body, headers=keyed(tenant, key)) for _ in range(5))
        )

        assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
        assert {r.content for r in responses} == {responses[0].content}
        assert responses[0].json()["value"] == 1
        assert sorted(r.headers.get(REPLAYED, "") for r in responses) == [""] + ["true"] * 4
        assert await tally_of(database, tenant.tenant_id, counter) == 1
        expected_recoveries = 4 if database.engine.dialect.name == "postgresql" else 0
        assert len(recoveries) == expected_recoveries
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

        assert sorted(r.status_code for r in responses) == [200, 409, 409]
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

        assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
        assert len({r.json()["accountId"] for r in responses}) == 1
        assert await stored_rows(database, tenant) == (1, 1)
