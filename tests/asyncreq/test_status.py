"""``GET`` and ``DELETE /v1/async-requests/{id}``: where a request stands, and cancelling it."""

from __future__ import annotations

import re
import uuid

import orjson
import pytest

from asyncgate.asyncreq.models import State
from tests.asyncreq.support import (
    ASYNC_TRIALS,
    accept,
    calls,
    events_of,
    stored,
    trial,
)
from tests.http.assertions import assert_zuora_error
from tests.http.probe import tally_of

ISO_ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
FIELDS = {
    "id",
    "state",
    "method",
    "url",
    "trackId",
    "attempts",
    "createTime",
    "startTime",
    "completeTime",
    "nextAttemptTime",
    "lastError",
    "resourceId",
    "response",
    "success",
}


async def status_of(client, tenant, request_id: str) -> dict:
    response = await client.get(f"/v1/async-requests/{request_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json().keys() == FIELDS
    return response.json()


class TestReadingARequest:
    async def test_a_queued_request_shows_what_was_asked_and_when(self, client, tenant):
        request_id = await accept(
            client, tenant, f"{ASYNC_TRIALS}?note=1", trial(), headers={"Zuora-Track-Id": "t-7"}
        )
        status = await status_of(client, tenant, request_id)

        assert status["id"] == request_id
        assert (status["state"], status["attempts"]) == ("queued", 0)
        assert (status["method"], status["url"]) == ("POST", "/v1/async/engine-trials?note=1")
        assert status["trackId"] == "t-7"
        assert ISO_ZULU.match(status["createTime"]) and ISO_ZULU.match(status["nextAttemptTime"])
        assert status["startTime"] is None and status["completeTime"] is None
        assert status["response"] is None

    async def test_a_finished_request_shows_its_synchronous_answer(self, client, tenant, worker):
        body = trial()
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        await worker.run_once()
        status = await status_of(client, tenant, request_id)

        assert (status["state"], status["attempts"]) == ("succeeded", 1)
        assert ISO_ZULU.match(status["startTime"]) and ISO_ZULU.match(status["completeTime"])
        assert status["createTime"] <= status["startTime"] <= status["completeTime"]
        assert status["nextAttemptTime"] is None
        assert status["resourceId"] == body["key"]
        assert status["response"] == {
            "status": 200,
            "body": {"success": True, "key": body["key"]},
        }

    async def test_a_failed_request_shows_why(self, client, tenant, worker, database):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial(failures=1, error="rule"))
        await worker.run_once()
        status = await status_of(client, tenant, request_id)

        assert status["state"] == "failed"
        assert status["response"]["status"] == 400
        stored_answer = orjson.loads((await stored(database, request_id)).response_body)
        assert status["response"]["body"] == stored_answer
        assert status["response"]["body"]["reasons"][0]["code"] % 100 == 30

    @pytest.mark.parametrize(
        "request_id", ["not-a-uuid", str(uuid.uuid4())], ids=["not-a-uuid", "unknown"]
    )
    async def test_an_unknown_request_is_not_found(self, client, tenant, request_id):
        response = await client.get(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        assert_zuora_error(response, 404, 40)

    async def test_another_tenants_request_is_not_found(self, client, tenant, other_tenant):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        response = await client.get(
            f"/v1/async-requests/{request_id}", headers=other_tenant.headers
        )
        assert_zuora_error(response, 404, 40)


class TestCancelling:
    async def test_a_queued_request_is_cancelled_and_never_runs(
        self, client, tenant, database, worker
    ):
        body = trial()
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        response = await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "cancelled"
        assert ISO_ZULU.match(response.json()["completeTime"])

        assert await worker.run_once() == 0
        assert (await stored(database, request_id)).state == State.CANCELLED
        assert calls[body["key"]] == 0
        assert await tally_of(database, tenant.tenant_id, body["key"]) == 0
        assert await events_of(database, request_id) == []

    async def test_a_request_behind_a_backlog_is_cancelled_and_the_backlog_left_queued(
        self, client, tenant, database
    ):
        backlog = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(5)]
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())

        response = await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)

        assert response.status_code == 200, response.text
        assert (await stored(database, request_id)).state == State.CANCELLED
        assert {(await stored(database, earlier)).state for earlier in backlog} == {State.QUEUED}

    async def test_a_running_request_cannot_be_cancelled(self, client, tenant, database, worker):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        await worker.claim(10)
        response = await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        assert_zuora_error(response, 409, 30)
        assert (await stored(database, request_id)).state == State.RUNNING

    @pytest.mark.parametrize("ending", ["succeeded", "failed", "cancelled"])
    async def test_a_finished_request_cannot_be_cancelled(
        self, client, tenant, database, worker, ending
    ):
        body = trial(failures=1, error="rule") if ending == "failed" else trial()
        request_id = await accept(client, tenant, ASYNC_TRIALS, body)
        if ending == "cancelled":
            await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        else:
            await worker.run_once()
        response = await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        assert_zuora_error(response, 409, 30)
        assert (await stored(database, request_id)).state == ending

    async def test_another_tenant_cannot_cancel(self, client, tenant, other_tenant, database):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        response = await client.delete(
            f"/v1/async-requests/{request_id}", headers=other_tenant.headers
        )
        assert_zuora_error(response, 404, 40)
        assert (await stored(database, request_id)).state == State.QUEUED
