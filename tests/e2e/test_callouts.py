"""Callouts end to end: a real ``asyncgate serve`` (its worker process dispatches and sends)
announces async requests to a real HTTPS receiver, and the history and resend endpoints show
and repeat what was sent."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from asyncgate.auth.roles import Role
from tests.billing.api import account_body
from tests.factories import TenantContext, make_client, make_tenant
from tests.support.live_service import CALLOUT_INTERVAL_UNIT_SECONDS
from tests.support.receiver import WAIT_SECONDS, Receiver, Reply, receiver_address

pytestmark = pytest.mark.e2e

SUCCEEDED = "Async Request Succeeded"
FAILED = "Async Request Failed"
DEFINITIONS = "/notifications/notification-definitions"
HISTORY = "/v1/notification-history/callout"
RESEND = "/notifications/callout-histories/resend"
PASSWORD = "e2e-receiver-password"


@pytest.fixture
async def other_tenant(live_database) -> TenantContext:
    return await make_tenant(live_database)


def define(api: httpx.Client, url: str, event_type: str = SUCCEEDED, **callout: Any) -> dict:
    body = {
        "name": f"{event_type} {uuid.uuid4().hex[:8]}",
        "eventTypeName": event_type,
        "calloutActive": True,
        "callout": {
            "name": f"Callout for {event_type}",
            "eventTypeName": event_type,
            "calloutBaseurl": url,
            "httpMethod": "POST",
            "requiredAuth": False,
            **callout,
        },
    }
    response = api.post(DEFINITIONS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def set_callout_settings(api: httpx.Client, **fields: Any) -> None:
    response = api.put("/notifications/callout-settings", json=fields)
    assert response.status_code == 200, response.text


def accept(api: httpx.Client, body: dict, track_id: str) -> str:
    response = api.post("/v1/async/accounts", json=body, headers={"Zuora-Track-Id": track_id})
    assert response.status_code == 202, response.text
    return response.json()["requestId"]


def finished(api: httpx.Client, request_id: str) -> dict:
    """The async request's status resource, once it has finished."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = api.get(f"/v1/async-requests/{request_id}").json()
        if status["state"] in ("succeeded", "failed"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.02)


def history(api: httpx.Client, count: int, **params: Any) -> list[dict]:
    """The callout history of every attempt, once it holds ``count`` rows."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = api.get(HISTORY, params={"failedOnly": "false", **params})
        assert response.status_code == 200, response.text
        rows = response.json()["calloutHistories"]
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)


def zulu(text: str) -> str:
    """A time of the status resource as the payload writes it (whole seconds, ``Z``)."""
    return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestPayloads:
    def test_an_async_account_creation_is_announced_with_exactly_the_success_payload(
        self, api, callout_receiver
    ):
        path = callout_receiver.new_path()
        define(api, callout_receiver.url(path))
        secret = api.post("/notifications/callout-settings/signing-secret").json()["secret"]

        request_id = accept(api, account_body(), track_id="e2e-success")

        (arrival,) = callout_receiver.wait_for(path, 1)
        status = finished(api, request_id)
        assert orjson.loads(arrival.body) == {
            "createTime": zulu(status["createTime"]),
            "completeTime": zulu(status["completeTime"]),
            "request": {
                "id": request_id,
                "method": "POST",
                "url": "/v1/async/accounts",
                "trackId": "e2e-success",
            },
            "state": "succeeded",
            "data": {"id": status["resourceId"]},
        }
        assert status["resourceId"] == status["response"]["body"]["accountId"]
        assert arrival.headers["content-type"] == "application/json"
        assert uuid.UUID(arrival.headers["zuora-request-id"])
        assert arrival.headers["zuora-notification-id"] == arrival.headers["webhook-id"]
        Webhook(secret).verify(arrival.body, arrival.headers)

    def test_a_request_missing_a_required_field_is_announced_with_its_reasons(
        self, api, callout_receiver
    ):
        path = callout_receiver.new_path()
        define(api, callout_receiver.url(path), event_type=FAILED)
        body = account_body()
        del body["name"]

        request_id = accept(api, body, track_id="e2e-failure")

        (arrival,) = callout_receiver.wait_for(path, 1)
        status = finished(api, request_id)
        # Answered as Zuora answers a failed call (the default ``ASYNCGATE_ERROR_STATUSES``),
        # and judged a failure by its body.
        assert status["response"]["status"] == 200
        answer = status["response"]["body"]
        assert answer["success"] is False
        payload = orjson.loads(arrival.body)
        assert list(payload) == [
            "createTime",
            "completeTime",
            "request",
            "state",
            "reasons",
            "processId",
        ]
        assert payload["request"] == {
            "id": request_id,
            "method": "POST",
            "url": "/v1/async/accounts",
            "trackId": "e2e-failure",
        }
        assert payload["state"] == "failed"
        assert payload["reasons"] == answer["reasons"]
        assert str(payload["reasons"][0]["code"]).endswith("22")
        assert "name" in payload["reasons"][0]["message"]
        assert payload["processId"] == answer["processId"]


class TestBasicAuth:
    def test_preemptive_and_challenged_credentials_reach_the_receiver(self, api, callout_receiver):
        preemptive, challenged = callout_receiver.new_path(), callout_receiver.new_path()
        for path, first_time in ((preemptive, True), (challenged, False)):
            callout_receiver.require_basic_auth(path, "receiver", PASSWORD)
            define(
                api,
                callout_receiver.url(path),
                requiredAuth=True,
                calloutAuth={
                    "username": "receiver",
                    "password": PASSWORD,
                    "preemptive": first_time,
                },
            )

        accept(api, account_body(), track_id="e2e-auth")

        (at_once,) = callout_receiver.wait_for(preemptive, 1)
        without, answered = callout_receiver.wait_for(challenged, 2)
        assert at_once.credentials() == ("receiver", PASSWORD)
        assert without.credentials() is None
        assert answered.credentials() == ("receiver", PASSWORD)
        rows = history(api, 2)
        assert sorted((row["attemptedNum"], row["responseCode"]) for row in rows) == [
            ("1", "200"),
            ("1", "200"),
        ]
        assert PASSWORD not in str(rows)


class TestRetriesAndResend:
    def test_a_receiver_that_fails_twice_then_succeeds_gets_three_attempts(
        self, api, callout_receiver
    ):
        set_callout_settings(api, minIntervalMinutes=1)
        path = callout_receiver.new_path()
        callout_receiver.script(path, Reply(500), Reply(503))
        define(api, callout_receiver.url(path))

        accept(api, account_body(), track_id="e2e-retries")

        arrivals = callout_receiver.wait_for(path, 3)
        assert len({a.headers["zuora-notification-id"] for a in arrivals}) == 1
        for before, after in itertools.pairwise(arrivals):
            assert after.at - before.at >= CALLOUT_INTERVAL_UNIT_SECONDS * 0.9
        rows = history(api, 3)
        assert [(r["attemptedNum"], r["responseCode"]) for r in rows] == [
            ("1", "500"),
            ("2", "503"),
            ("3", "200"),
        ]
        assert [r["id"] for r in api.get(HISTORY).json()["calloutHistories"]] == [
            rows[0]["id"],
            rows[1]["id"],
        ]

    def test_a_receiver_that_is_down_ends_failed_and_a_resend_then_delivers(self, api, tls_ca):
        set_callout_settings(api, maxAttempts=2, minIntervalMinutes=1)
        address = receiver_address(2)  # nothing listens there yet
        down = Receiver(address, 443, tls_ca.issue_cert(address))
        path = down.new_path()
        define(api, down.url(path))
        accept(api, account_body(), track_id="e2e-down")

        failures = history(api, 2)
        time.sleep(CALLOUT_INTERVAL_UNIT_SECONDS * 3)  # no third attempt comes

        assert history(api, 2) == failures
        assert [(r["attemptedNum"], r["responseCode"]) for r in failures] == [
            ("1", None),
            ("2", None),
        ]
        assert all(r["error"].startswith("connect_error") for r in failures)
        with down:
            resent = api.post(RESEND, json=[failures[-1]["id"]])
            assert (resent.status_code, resent.json()) == (202, {})
            (arrival,) = down.wait_for(path, 1)
        assert arrival.headers["zuora-notification-id"] == failures[0]["notificationId"]
        assert [(r["attemptedNum"], r["responseCode"]) for r in history(api, 3)][-1] == ("3", "200")


class TestIsolation:
    def test_a_slow_receiver_does_not_hold_up_another_tenants_callouts(
        self, api, live_server, other_tenant, callout_receiver, tls_ca
    ):
        """Tenant A's receiver answers after 1.5 s, and A has more callouts due than the
        sender sends at once (100): B's go out meanwhile, not after A's backlog."""
        address = receiver_address(4)  # 3 is the console browser tests' receiver
        slow_answers = [Reply(200, delay=1.5)] * 150
        with Receiver(address, 443, tls_ca.issue_cert(address)) as slow:
            slow_path, quick_path = slow.new_path(), callout_receiver.new_path()
            slow.script(slow_path, *slow_answers)
            define(api, slow.url(slow_path))
            with httpx.Client(
                base_url=live_server.base_url, headers=other_tenant.headers, timeout=10
            ) as other_api:
                define(other_api, callout_receiver.url(quick_path))
                for _ in range(150):
                    accept(api, account_body(), track_id="e2e-slow")
                for _ in range(10):
                    accept(other_api, account_body(), track_id="e2e-quick")

                quick = callout_receiver.wait_for(quick_path, 10)
            slow_arrivals = slow.wait_for(slow_path, 150, timeout=WAIT_SECONDS * 2)

        last_quick = max(arrival.at for arrival in quick)
        # Fifty at a time reach the slow receiver (ASYNCGATE_CALLOUT_CONCURRENCY_PER_ORIGIN),
        # fifty more every 1.5 s: A's 150 take 4.5 s. Had B's waited for sending slots behind
        # A's deliveries, they would have come after most of A's; they come within A's first
        # rounds (the first, on a quiet machine; a busy one may take a round more to execute
        # B's requests).
        assert sum(arrival.at <= last_quick for arrival in slow_arrivals) <= 100


class TestRefusals:
    @pytest.mark.parametrize(
        "url",
        [
            "http://{address}/callouts",
            "https://{address}:8443/callouts",
            "https://user:secret@{address}/callouts",
            "ftp://{address}/callouts",
        ],
    )
    def test_an_unsafe_url_is_refused(self, api, callout_receiver, url):
        response = api.post(
            DEFINITIONS,
            json={
                "name": "unsafe",
                "eventTypeName": SUCCEEDED,
                "calloutActive": True,
                "callout": {
                    "name": "unsafe",
                    "eventTypeName": SUCCEEDED,
                    "calloutBaseurl": url.format(address=callout_receiver.host),
                    "httpMethod": "POST",
                    "requiredAuth": False,
                },
            },
        )

        assert response.status_code == 400
        assert response.json()["code"] % 100 == 20
        assert api.get(DEFINITIONS).json()["data"] == []

    async def test_a_non_administrator_token_may_read_but_not_change_or_resend(
        self, live_server, live_database, live_tenant, api, callout_receiver
    ):
        path = callout_receiver.new_path()
        callout_receiver.script(path, Reply(500))
        define(api, callout_receiver.url(path), calloutRetry=False)
        accept(api, account_body(), track_id="e2e-roles")
        (row,) = history(api, 1)
        user = await make_client(live_database, live_tenant, role=Role.STANDARD_USER)

        with httpx.Client(base_url=live_server.base_url, headers=user.headers) as reader:
            refused = [
                reader.post(RESEND, json=[row["id"]]),
                reader.post(DEFINITIONS, json={}),
                reader.put("/notifications/callout-settings", json={"maxAttempts": 5}),
                reader.post("/notifications/callout-settings/signing-secret"),
            ]
            readable = reader.get(HISTORY, params={"failedOnly": "false"})

        assert [(r.status_code, r.json()["code"] % 100) for r in refused] == [(403, 10)] * 4
        assert readable.json()["calloutHistories"] == [row]
        await asyncio.sleep(CALLOUT_INTERVAL_UNIT_SECONDS * 2)
        assert len(callout_receiver.arrivals(path)) == 1  # the refused resend sent nothing
