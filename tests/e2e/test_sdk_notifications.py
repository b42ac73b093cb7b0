"""zuora-sdk's NotificationsApi against a real ``asyncgate serve``: notification definitions
created, read, listed, updated and deleted, callout history read and callouts resent, and the
errors the SDK raises, with every raw body checked against the model the SDK declares for it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from asyncgate.auth.roles import Role
from tests.billing.api import account_body
from tests.e2e.sdk import body_of, exceptions, models, open_sdk, quiet_sdk, zuora_sdk
from tests.e2e.shapes import ZUORA_ID, assert_shape, declared_keys
from tests.factories import TenantContext, make_client, make_tenant
from tests.support.receiver import WAIT_SECONDS, Reply

pytestmark = [pytest.mark.e2e, quiet_sdk]

SUCCEEDED = "Async Request Succeeded"
PUBLIC_URL = "https://93.184.215.14/callouts/async"
CALLOUT_KEYS = [
    "active",
    "calloutAuth.username",
    "calloutAuth.domain",
    "calloutAuth.preemptive",
    "calloutBaseurl",
    "calloutParams",
    "calloutRetry",
    "description",
    "eventTypeName",
    "httpMethod",
    "name",
    "requiredAuth",
]
DEFINITION_KEYS = [
    "id",
    "name",
    "description",
    "eventTypeName",
    "eventTypeNamespace",
    "active",
    "calloutActive",
    "emailActive",
    "communicationProfileId",
    "createdBy",
    "createdOn",
    "updatedBy",
    "updatedOn",
    *(f"callout.{key}" for key in CALLOUT_KEYS),
]


@pytest.fixture
async def tenant(live_database) -> TenantContext:
    """A tenant of its own, so these definitions meet no other test's async requests."""
    return await make_tenant(live_database)


@pytest.fixture
def notifications(live_server, tenant) -> Iterator[zuora_sdk.NotificationsApi]:
    with open_sdk(live_server.base_url, tenant.token) as api_client:
        yield zuora_sdk.NotificationsApi(api_client)


def definition_request(**overrides) -> models.PostPublicNotificationDefinitionRequest:
    """The seed's sample, as an SDK user writes it."""
    fields = {
        "name": "Async request succeeded",
        "description": "Notification sent out when an async request succeeds",
        "event_type_name": SUCCEEDED,
        "callout_active": True,
        "callout": models.PostPublicNotificationDefinitionRequestCallout(
            name="Callout for Async Request Succeeded",
            event_type_name=SUCCEEDED,
            callout_baseurl=PUBLIC_URL,
            http_method="POST",
            required_auth=True,
            callout_auth=models.CalloutAuth(
                username="receiver", password="receiver-password", domain="d", preemptive=True
            ),
        ),
    }
    return models.PostPublicNotificationDefinitionRequest(**(fields | overrides))


# What asyncgate adds to each history row: resend takes its ``id``.
HISTORY_EXTRAS = ("id", "notificationId", "error")


def common_error(
    error: exceptions.ApiException, status: int, category: int
) -> models.CommonErrorResponse:
    """The SDK's model of a 400 or 403 here: ``{"code", "message"}``, filled."""
    assert error.status == status
    assert isinstance(error.data, models.CommonErrorResponse)
    assert isinstance(error.data.code, int) and error.data.code % 100 == category
    assert error.data.message
    assert json.loads(error.body)["reasons"][0]["code"] == error.data.code
    return error.data


class TestDefinitions:
    def test_create_get_list_update_and_delete(self, notifications):
        created = notifications.create_notification_definition_with_http_info(definition_request())
        body = body_of(created)
        assert_shape(body, models.GetPublicNotificationDefinitionResponse, DEFINITION_KEYS)
        assert "password" not in body["callout"]["calloutAuth"]
        definition = created.data
        assert ZUORA_ID.match(definition.id)
        assert ZUORA_ID.match(definition.communication_profile_id)
        assert definition.callout.callout_baseurl == PUBLIC_URL
        assert definition.callout.required_auth is True

        fetched = notifications.get_notification_definition_with_http_info(definition.id)
        assert body_of(fetched) == body

        other = notifications.create_notification_definition(definition_request(name="second"))
        first_page = notifications.query_notification_definitions_with_http_info(limit=1)
        page = body_of(first_page)
        assert_shape(page, models.GetQueryNotificationDefinitions200Response, ["next", "data"])
        assert [item["id"] for item in page["data"]] == [definition.id]
        query = parse_qs(urlsplit(first_page.data.next).query)
        assert (query["start"], query["limit"]) == (["1"], ["1"])
        last_page = notifications.query_notification_definitions(start=1, limit=1)
        assert [item.id for item in last_page.data] == [other.id]
        assert last_page.next is None

        updated = notifications.update_notification_definition_with_http_info(
            definition.id,
            models.PutPublicNotificationDefinitionRequest(
                name="Renamed",
                callout_active=True,
                callout=models.PutPublicNotificationDefinitionRequestCallout(
                    name="Callout, renamed",
                    callout_baseurl=PUBLIC_URL + "/v2",
                    http_method="PUT",
                    required_auth=False,
                ),
            ),
        )
        changed = body_of(updated)
        assert_shape(changed, models.GetPublicNotificationDefinitionResponse)
        assert changed["name"] == "Renamed"
        assert changed["callout"]["calloutBaseurl"] == PUBLIC_URL + "/v2"
        assert changed["callout"]["httpMethod"] == "PUT"
        assert changed["createdOn"] == body["createdOn"]
        assert notifications.get_notification_definition(definition.id).name == "Renamed"

        deleted = notifications.delete_notification_definition_with_http_info(definition.id)
        assert deleted.status_code == 204
        assert deleted.data is None
        with pytest.raises(exceptions.NotFoundException) as missing:
            notifications.get_notification_definition(definition.id)
        assert isinstance(missing.value.data, models.ErrorResponse)
        assert missing.value.data.reasons[0].code % 100 == 40
        notifications.delete_notification_definition(other.id)


class TestErrors:
    def test_a_missing_required_field_is_a_400_with_a_common_error(self, notifications):
        with pytest.raises(exceptions.BadRequestException) as refused:
            notifications.create_notification_definition(definition_request(name=None))

        assert "name" in common_error(refused.value, 400, category=22).message

    def test_a_callout_url_with_a_port_is_a_400(self, notifications):
        request = definition_request()
        request.callout.callout_baseurl = "https://93.184.215.14:8443/callouts"

        with pytest.raises(exceptions.BadRequestException) as refused:
            notifications.create_notification_definition(request)

        assert "port" in common_error(refused.value, 400, category=20).message

    def test_a_name_in_use_is_a_400(self, notifications):
        created = notifications.create_notification_definition(definition_request(name="once"))

        with pytest.raises(exceptions.BadRequestException) as refused:
            notifications.create_notification_definition(definition_request(name="once"))

        assert refused.value.status == 400
        assert json.loads(refused.value.body)["code"] % 100 == 30
        notifications.delete_notification_definition(created.id)

    async def test_a_standard_user_is_a_403_with_a_common_error(
        self, live_server, live_database, tenant
    ):
        user = await make_client(live_database, tenant, role=Role.STANDARD_USER)

        with (
            open_sdk(live_server.base_url, user.token) as api_client,
            pytest.raises(exceptions.ForbiddenException) as refused,
        ):
            zuora_sdk.NotificationsApi(api_client).create_notification_definition(
                definition_request()
            )

        common_error(refused.value, 403, category=10)

    def test_a_bad_token_is_a_401_the_sdk_reads(self, live_server):
        with (
            open_sdk(live_server.base_url, access_token="not-a-token") as api_client,
            pytest.raises(exceptions.UnauthorizedException) as refused,
        ):
            zuora_sdk.NotificationsApi(api_client).query_notification_definitions()

        assert isinstance(refused.value.data, models.ProxyUnauthorizedResponse)
        assert refused.value.data.message == "Authentication error"


class TestCalloutHistoryAndResend:
    def test_the_sdk_reads_a_failed_callout_and_resends_it(
        self, notifications, live_server, tenant, callout_receiver
    ):
        path = callout_receiver.new_path()
        callout_receiver.script(path, Reply(500, b'{"error": "down for a moment"}'))
        request = definition_request(name="history")
        request.callout.callout_baseurl = callout_receiver.url(path)
        request.callout.required_auth = False
        request.callout.callout_auth = None
        request.callout.callout_retry = False
        notifications.create_notification_definition(request)
        with httpx.Client(base_url=live_server.base_url, headers=tenant.headers) as api:
            accepted = api.post("/v1/async/accounts", json=account_body())
        assert accepted.status_code == 202
        (failed,) = callout_receiver.wait_for(path, 1)

        answer = self.failed_history(notifications)

        assert answer.status_code == 200
        body = json.loads(answer.raw_data)
        (row,) = body["calloutHistories"]
        extras = {key: row.pop(key) for key in HISTORY_EXTRAS}
        assert_shape(body, models.GetCalloutHistoryVOsType, ["success", "calloutHistories"])
        assert set(row) == set(declared_keys(models.GetCalloutHistoryVOType))
        assert (row["attemptedNum"], row["responseCode"]) == ("1", "500")
        assert row["responseContent"] == '{"error": "down for a moment"}'
        assert row["requestUrl"] == callout_receiver.url(path)
        assert json.loads(row["eventContext"])["request"]["id"] == accepted.json()["requestId"]
        assert extras["notificationId"] == failed.headers["zuora-notification-id"]
        assert answer.data.callout_histories[0].additional_properties["id"] == extras["id"]

        resent = notifications.resend_callout_notifications_with_http_info([extras["id"]])

        assert (resent.status_code, resent.data, json.loads(resent.raw_data)) == (202, {}, {})
        _, again = callout_receiver.wait_for(path, 2)
        assert again.headers["zuora-notification-id"] == extras["notificationId"]
        with pytest.raises(exceptions.BadRequestException) as refused:
            notifications.resend_callout_notifications(["no-such-history"])
        reason = refused.value.data["no-such-history"]
        assert isinstance(reason, models.ResendCalloutNotificationsFailedResponseValue)
        assert reason.code == "50004340" and "does not exist" in reason.message

    @staticmethod
    def failed_history(notifications) -> zuora_sdk.ApiResponse:
        """The tenant's failed callouts of the last hour, once there is one."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            now = datetime.now(UTC)
            answer = notifications.get_callout_history_with_http_info(
                page=1,
                page_size=40,
                start_time=now - timedelta(hours=1),
                end_time=now + timedelta(minutes=1),
                failed_only=True,
                event_category="user.notification:Async Request Succeeded",
                include_response_content=True,
            )
            if json.loads(answer.raw_data)["calloutHistories"]:
                return answer
            assert time.monotonic() < deadline, "no failed callout in the history"
            time.sleep(0.05)
