"""The outbox event of each finished request: one per request, in the callout payload shape
Zuora documents for Async Request Succeeded / Failed."""

from __future__ import annotations

import re
from datetime import timedelta

import orjson

from asyncgate.asyncreq.outcomes import zulu
from asyncgate.asyncreq.retry import RetryPolicy
from asyncgate.notifications.outbox import EventType
from tests.asyncreq.support import (
    ASYNC_TRIALS,
    accept,
    advance_until_due,
    events_of,
    stored,
    trial,
)
from tests.billing.api import account_body
from tests.support.clock import ManualClock

ZULU_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PROCESS_ID = re.compile(r"^[0-9A-F]{16}$")


def assert_common_fields(payload: dict, request, *, url: str, track_id: str | None) -> None:
    assert ZULU_SECONDS.match(payload["createTime"]), payload
    assert ZULU_SECONDS.match(payload["completeTime"]), payload
    assert payload["createTime"] == zulu(request.created_at)
    assert payload["completeTime"] == zulu(request.completed_at)
    assert payload["request"] == {
        "id": request.id,
        "method": request.method,
        "url": url,
        "trackId": track_id,
    }


class TestSucceededEvent:
    async def test_an_account_creation_announces_itself_in_zuoras_shape(
        self, client, tenant, database, worker
    ):
        request_id = await accept(
            client, tenant, "/v1/async/accounts", account_body(), headers={"Zuora-Track-Id": "a1"}
        )
        await worker.run_once()
        request = await stored(database, request_id)

        [event] = await events_of(database, request_id)
        assert (event.event_type, event.tenant_id) == (
            EventType.ASYNC_REQUEST_SUCCEEDED,
            tenant.tenant_id,
        )
        assert event.dispatched_at is not None  # its deliveries were made in the same commit
        payload = event.payload
        assert payload.keys() == {"createTime", "completeTime", "request", "state", "data"}
        assert_common_fields(payload, request, url="/v1/async/accounts", track_id="a1")
        assert payload["state"] == "succeeded"
        account_id = orjson.loads(request.response_body)["accountId"]
        assert payload["data"] == {"id": account_id}

    async def test_data_names_the_resource_the_request_changed(
        self, client, tenant, database, worker
    ):
        body = trial()
        request_id = await accept(client, tenant, f"{ASYNC_TRIALS}?why=test", body)
        await worker.run_once()

        [event] = await events_of(database, request_id)
        assert event.payload["data"] == {"id": body["key"]}
        assert event.payload["request"]["url"] == "/v1/async/engine-trials?why=test"
        assert event.payload["request"]["trackId"] is None


class TestFailedEvent:
    async def test_a_failure_announces_its_reasons_and_process_id(
        self, client, tenant, database, worker
    ):
        request_id = await accept(
            client,
            tenant,
            "/v1/async/accounts",
            {"name": "No Currency", "billToContact": {"firstName": "A", "lastName": "B"}},
            headers={"Zuora-Track-Id": "f1"},
        )
        await worker.run_once()
        request = await stored(database, request_id)

        [event] = await events_of(database, request_id)
        assert event.event_type == EventType.ASYNC_REQUEST_FAILED
        payload = event.payload
        assert payload.keys() == {
            "createTime",
            "completeTime",
            "request",
            "state",
            "reasons",
            "processId",
        }
        assert_common_fields(payload, request, url="/v1/async/accounts", track_id="f1")
        assert payload["state"] == "failed"
        assert payload["reasons"]
        for reason in payload["reasons"]:
            assert reason.keys() == {"code", "message"}
            assert isinstance(reason["code"], int) and len(str(reason["code"])) == 8
            assert isinstance(reason["message"], str) and reason["message"]
        assert PROCESS_ID.match(payload["processId"])
        assert payload["processId"] == request.process_id


class TestOneEventPerFinishedRequest:
    async def test_no_event_while_a_request_waits_or_retries(
        self, client, tenant, database, make_worker
    ):
        policy = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=1), jitter=0.0)
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial(failures=2))
        clock = ManualClock()
        worker = make_worker(retry=policy, clock=clock)
        assert await events_of(database, request_id) == []
        for _ in range(2):
            await worker.run_once()
            assert await events_of(database, request_id) == []
            await advance_until_due(clock, database, request_id)
        await worker.run_once()
        await worker.run_once()
        assert len(await events_of(database, request_id)) == 1

    async def test_no_event_for_a_cancelled_request(self, client, tenant, database, worker):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        await client.delete(f"/v1/async-requests/{request_id}", headers=tenant.headers)
        await worker.run_once()
        assert await events_of(database, request_id) == []

    async def test_each_request_of_a_batch_has_its_own_event(
        self, client, tenant, database, worker
    ):
        ids = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(5)]
        await worker.run_once()
        for request_id in ids:
            [event] = await events_of(database, request_id)
            assert event.payload["request"]["id"] == request_id
