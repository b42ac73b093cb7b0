"""``GET /v1/notification-history/callout`` and ``POST /notifications/callout-histories/resend``."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from asyncgate.auth.roles import Role
from asyncgate.db.base import utcnow
from asyncgate.notifications.models import DeliveryState
from tests.factories import make_client
from tests.http.assertions import assert_zuora_error
from tests.notifications.api import CALLOUT_SETTINGS, assert_notifications_error
from tests.notifications.delivery.support import (
    attempts_of,
    define,
    deliver,
    deliveries_of,
    publish,
)
from tests.support.receiver import Reply

HISTORY = "/v1/notification-history/callout"
RESEND = "/notifications/callout-histories/resend"
SUCCEEDED_CATEGORY = "user.notification:Async Request Succeeded"
ROW_KEYS = {
    "id",
    "notificationId",
    "attemptedNum",
    "createTime",
    "eventCategory",
    "eventContext",
    "notification",
    "requestMethod",
    "requestUrl",
    "responseCode",
    "responseContent",
    "error",
}


async def history(client, tenant, **params) -> dict:
    response = await client.get(HISTORY, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def one_failure_then_success(client, tenant, database, sender, receiver):
    """A delivered callout whose first attempt failed (500); returns its payload."""
    path = receiver.new_path()
    receiver.script(path, Reply(500, b'{"error": "boom"}'))
    await client.put(CALLOUT_SETTINGS, json={"minIntervalMinutes": 1}, headers=tenant.headers)
    await define(client, tenant, receiver.url(path))
    payload = await publish(database, tenant)
    await deliver(sender, database, tenant)
    return payload


class TestHistory:
    async def test_rows_carry_zuoras_fields_as_strings_and_failed_only_is_the_default(
        self, client, tenant, database, one_failure_then_success
    ):
        payload = one_failure_then_success
        (delivery,) = await deliveries_of(database, tenant)

        answer = await history(client, tenant)

        assert answer["success"] is True and "nextPage" not in answer
        (row,) = answer["calloutHistories"]
        assert set(row) == ROW_KEYS
        assert row["notificationId"] == delivery.id
        assert (row["attemptedNum"], row["responseCode"]) == ("1", "500")
        assert row["eventCategory"] == SUCCEEDED_CATEGORY
        assert orjson.loads(row["eventContext"]) == payload
        assert row["requestMethod"] == "POST" and row["requestUrl"].startswith("https://")
        assert row["notification"].startswith("definition ")
        assert row["responseContent"] is None  # unless asked for
        assert row["error"] == "http_status: the receiver answered 500"
        assert row["createTime"].endswith("Z")

    async def test_all_attempts_with_their_answers_when_asked(
        self, client, tenant, one_failure_then_success
    ):
        answer = await history(client, tenant, failedOnly="false", includeResponseContent="true")

        rows = answer["calloutHistories"]
        assert [(r["attemptedNum"], r["responseCode"], r["error"]) for r in rows] == [
            ("1", "500", "http_status: the receiver answered 500"),
            ("2", "200", None),
        ]
        assert [r["responseContent"] for r in rows] == ['{"error": "boom"}', '{"success": true}']
        assert len({r["id"] for r in rows}) == 2

    async def test_filters_by_object_and_event_category(
        self, client, tenant, one_failure_then_success
    ):
        request_id = one_failure_then_success["request"]["id"]

        for matching in (
            {"objectId": request_id},
            {"eventCategory": SUCCEEDED_CATEGORY},
            {"eventCategory": "Async Request Succeeded"},
        ):
            assert len((await history(client, tenant, **matching))["calloutHistories"]) == 1
        for other in (
            {"objectId": "another-request"},
            {"eventCategory": "user.notification:Async Request Failed"},
        ):
            assert (await history(client, tenant, **other))["calloutHistories"] == []

    @pytest.mark.parametrize(
        "written",
        [
            "%Y-%m-%dT%H:%M:%S",  # Zuora's documented format (UTC)
            "%Y-%m-%dT%H:%M:%S.%f",  # zuora-sdk, naive datetime
            "%Y-%m-%dT%H:%M:%S.%f+0000",  # zuora-sdk, aware datetime
            "%Y-%m-%dT%H:%M:%SZ",
        ],
    )
    async def test_the_time_window_reads_every_format_clients_send(
        self, client, tenant, one_failure_then_success, written
    ):
        now = utcnow()
        inside = {
            "startTime": (now - timedelta(minutes=1)).strftime(written),
            "endTime": (now + timedelta(minutes=1)).strftime(written),
        }
        before = {
            "startTime": (now - timedelta(hours=2)).strftime(written),
            "endTime": (now - timedelta(hours=1)).strftime(written),
        }

        assert len((await history(client, tenant, **inside))["calloutHistories"]) == 1
        assert (await history(client, tenant, **before))["calloutHistories"] == []

    async def test_an_offset_whose_plus_was_not_percent_encoded_still_reads(
        self, client, tenant, one_failure_then_success
    ):
        start = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")

        response = await client.get(f"{HISTORY}?startTime={start}", headers=tenant.headers)

        assert response.status_code == 200, response.text
        assert len(response.json()["calloutHistories"]) == 1

    async def test_the_default_window_is_the_last_day(
        self, client, tenant, one_failure_then_success
    ):
        tomorrow = (utcnow() + timedelta(days=1, minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")

        assert (await history(client, tenant, endTime=tomorrow))["calloutHistories"] == []

    async def test_pages_follow_next_page_with_the_window_fixed(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, *[Reply(500)] * 3)
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)
        await deliver(sender, database, tenant)

        first = await history(client, tenant, pageSize=2)
        query = parse_qs(urlsplit(first["nextPage"]).query)
        second = await client.get(first["nextPage"], headers=tenant.headers)

        assert first["nextPage"].startswith(f"{client.base_url}{HISTORY}?")  # absolute
        assert (query["page"], query["pageSize"]) == (["2"], ["2"])
        assert {"startTime", "endTime"} <= set(query)
        assert [r["attemptedNum"] for r in first["calloutHistories"]] == ["1", "2"]
        assert second.status_code == 200
        assert [r["attemptedNum"] for r in second.json()["calloutHistories"]] == ["3"]
        assert "nextPage" not in second.json()

    async def test_history_is_the_tenants_own(
        self, client, tenant, other_tenant, one_failure_then_success
    ):
        assert (await history(client, other_tenant))["calloutHistories"] == []

    async def test_any_role_may_read_it(self, client, tenant, database, one_failure_then_success):
        reader = await make_client(database, tenant, role=Role.STANDARD_USER)

        assert len((await history(client, reader))["calloutHistories"]) == 1

    async def test_pages_hold_20_by_default_and_40_at_most(
        self, client, tenant, database, sender, receiver
    ):
        await define(client, tenant, receiver.url(receiver.new_path()))
        for _ in range(41):
            await publish(database, tenant)
        await deliver(sender, database, tenant)

        default = await history(client, tenant, failedOnly="false")
        largest = await history(client, tenant, failedOnly="false", pageSize=1000)

        assert len(default["calloutHistories"]) == 20
        assert len(largest["calloutHistories"]) == 40
        assert parse_qs(urlsplit(largest["nextPage"]).query)["pageSize"] == ["40"]

    async def test_a_standard_events_numeric_category_matches_nothing(
        self, client, tenant, one_failure_then_success
    ):
        assert (await history(client, tenant, eventCategory="1110"))["calloutHistories"] == []

    @pytest.mark.parametrize(
        "params",
        [
            {"pageSize": "0"},
            {"page": "0"},
            {"startTime": "yesterday"},
            {"startTime": "2025-01-02T00:00:00", "endTime": "2025-01-01T00:00:00"},
            {"eventCategory": "user.notification:Invoice Posted"},
            {"failedOnly": "perhaps"},
        ],
    )
    async def test_bad_queries_are_400s(self, client, tenant, params):
        response = await client.get(HISTORY, params=params, headers=tenant.headers)

        assert_zuora_error(response, 400, 20)


class TestResend:
    async def test_a_resend_makes_one_more_attempt_with_the_same_notification_id(
        self, client, tenant, database, sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)
        await deliver(sender, database, tenant)
        (attempt,) = await attempts_of(database, tenant)

        response = await client.post(RESEND, json=[attempt.id], headers=tenant.headers)
        (delivery,) = await deliver(sender, database, tenant)

        assert (response.status_code, response.json()) == (202, {})
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)
        first, second = receiver.wait_for(path, 2)
        assert first.headers["zuora-notification-id"] == second.headers["zuora-notification-id"]
        assert [a.attempt for a in await attempts_of(database, tenant)] == [1, 2]

    async def test_a_failed_resend_is_not_retried(self, client, tenant, database, sender, receiver):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)
        await deliver(sender, database, tenant)
        receiver.script(path, Reply(500), Reply(500))
        (attempt,) = await attempts_of(database, tenant)

        await client.post(RESEND, json=[attempt.id], headers=tenant.headers)
        (delivery,) = await deliver(sender, database, tenant)

        assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 2)

    async def test_unknown_ids_are_named_and_all_unknown_is_a_400(
        self, client, tenant, other_tenant, one_failure_then_success, database
    ):
        known = (await attempts_of(database, tenant))[0].id

        partly = await client.post(RESEND, json=[known, "nope"], headers=tenant.headers)
        elsewhere = await client.post(RESEND, json=[known], headers=other_tenant.headers)

        assert partly.status_code == 202
        assert list(partly.json()) == ["nope"]
        assert partly.json()["nope"]["code"] == "50004340"
        assert elsewhere.status_code == 400
        assert set(elsewhere.json()) == {known}
        assert elsewhere.json()[known]["message"] == f"Callout history {known} does not exist"

    async def test_a_callout_being_sent_is_not_resent(
        self, client, tenant, database, sender, one_failure_then_success
    ):
        attempt = (await attempts_of(database, tenant))[0]
        await client.post(RESEND, json=[attempt.id], headers=tenant.headers)
        await sender.claim(10)  # being sent now

        response = await client.post(RESEND, json=[attempt.id], headers=tenant.headers)

        assert response.status_code == 400
        assert response.json()[attempt.id]["code"] == "50004350"

    async def test_only_administrators_may_resend(
        self, client, tenant, database, one_failure_then_success
    ):
        attempt = (await attempts_of(database, tenant))[0]
        user = await make_client(database, tenant, role=Role.STANDARD_USER)

        response = await client.post(RESEND, json=[attempt.id], headers=user.headers)

        assert_notifications_error(response, 403, 10)
        (delivery,) = await deliveries_of(database, tenant)
        assert delivery.state == DeliveryState.DELIVERED

    @pytest.mark.parametrize("body", [[], {"ids": ["a"]}, [1, 2], "abc", ["x"] * 101])
    async def test_a_body_that_is_no_list_of_ids_is_a_400(self, client, tenant, body):
        response = await client.post(RESEND, json=body, headers=tenant.headers)

        assert_notifications_error(response, 400, 20)
