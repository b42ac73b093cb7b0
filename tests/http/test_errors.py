"""Zuora's error envelope: eight-digit codes, a processId, and the HTTP status of each mode."""

from __future__ import annotations

import uuid

import orjson
import pytest

from asyncgate.http import errors
from asyncgate.http.errors import Category
from tests.http.assertions import assert_request_id, assert_zuora_error
from tests.http.probe import FAILURES, TALLIES, tally_of

# Each error class pairs a Zuora category with the HTTP status a client sees.
HONEST_STATUSES = [
    (errors.PermissionDenied, Category.PERMISSION_DENIED, 403),
    (errors.AuthenticationFailed, Category.AUTHENTICATION_FAILED, 401),
    (errors.InvalidValue, Category.INVALID_VALUE, 400),
    (errors.UnknownField, Category.UNKNOWN_FIELD, 400),
    (errors.MissingField, Category.MISSING_FIELD, 400),
    (errors.MissingParameter, Category.MISSING_PARAMETER, 400),
    (errors.BusinessRuleViolated, Category.BUSINESS_RULE, 400),
    (errors.NotFound, Category.NOT_FOUND, 404),
    (errors.UnsupportedMethod, Category.UNSUPPORTED_METHOD, 405),
    (errors.PayloadTooLarge, Category.INVALID_VALUE, 413),
    (errors.UnsupportedMediaType, Category.INVALID_VALUE, 415),
    (errors.LockingContention, Category.LOCKING_CONTENTION, 409),
    (errors.InternalError, Category.INTERNAL_ERROR, 500),
    (errors.TemporaryError, Category.TEMPORARY_ERROR, 503),
    (errors.LimitExceeded, Category.LIMIT_EXCEEDED, 429),
    (errors.MalformedJson, Category.MALFORMED_JSON, 400),
]


class TestEnvelope:
    @pytest.mark.parametrize(("error_class", "category", "status"), HONEST_STATUSES)
    def test_each_error_renders_its_category_and_status(self, error_class, category, status):
        error = error_class("something is wrong", resource=errors.Resource.ACCOUNT)
        response = errors.error_response(error, "0123456789ABCDEF", "POST", "/v1/accounts", "http")

        assert response.status_code == status
        assert error.reasons[0].code == 500010 * 100 + category
        assert response.body.startswith(b'{"success":false,"processId":"0123456789ABCDEF"')

    @pytest.mark.parametrize("error_statuses", ["zuora", "http"])
    def test_crud_object_paths_use_the_pascal_case_envelope(self, error_statuses):
        error = errors.NotFound("No such account", resource=errors.Resource.ACCOUNT)
        for path in ("/v1/object/account/123", "/v1/async/object/account/123"):
            response = errors.error_response(
                error, "0123456789ABCDEF", "POST", path, error_statuses
            )
            assert response.status_code == 404
            assert response.body == (
                b'{"Success":false,"Errors":[{"Code":"INVALID_ID","Message":"No such account"}]}'
            )

    @pytest.mark.parametrize("error_statuses", ["zuora", "http"])
    def test_action_paths_answer_a_fault_naming_every_reason(self, error_statuses):
        error = errors.RequestInvalid(
            [
                errors.Reason(Category.MISSING_FIELD, "Missing required field: type"),
                errors.Reason(Category.UNKNOWN_FIELD, "Unknown field: extra"),
            ]
        )
        response = errors.error_response(
            error, "0123456789ABCDEF", "POST", "/v1/action/create", error_statuses
        )
        assert response.status_code == 400
        assert orjson.loads(response.body) == {
            "FaultCode": "MISSING_REQUIRED_VALUE",
            "FaultMessage": "Missing required field: type; Unknown field: extra",
        }

    def test_notification_paths_add_the_code_and_message_zuoras_sdk_reads_there(self):
        error = errors.RequestInvalid(
            [
                errors.Reason(Category.MISSING_FIELD, "Missing required field: name"),
                errors.Reason(Category.INVALID_VALUE, "Invalid value for field active"),
            ]
        )
        path = "/notifications/notification-definitions"
        body = orjson.loads(
            errors.error_response(error, "0123456789ABCDEF", "POST", path, "zuora").body
        )
        assert body == {
            "success": False,
            "processId": "0123456789ABCDEF",
            "reasons": [
                {"code": 50000022, "message": "Missing required field: name"},
                {"code": 50000020, "message": "Invalid value for field active"},
            ],
            "code": 50000022,
            "message": "Missing required field: name; Invalid value for field active",
        }

    @pytest.mark.parametrize(
        ("path", "fields"),
        [
            ("/v1/accounts", {"success", "processId", "reasons", "message"}),
            (
                "/notifications/notification-definitions",
                {"success", "processId", "reasons", "code", "message"},
            ),
            ("/v1/object/account", {"Success", "Errors", "message"}),
            ("/v1/action/query", {"FaultCode", "FaultMessage", "message"}),
        ],
    )
    def test_authentication_failures_carry_a_top_level_message_in_every_family(self, path, fields):
        response = errors.error_response(
            errors.AuthenticationFailed("Token expired"), "0123456789ABCDEF", "POST", path, "zuora"
        )
        assert response.status_code == 401
        body = orjson.loads(response.body)
        assert body.keys() == fields
        assert body["message"] == "Token expired"


class TestResourceCodes:
    """Zuora's guide "Error codes": a failed GET or DELETE names the generic resource, 500000;
    an authentication failure is 90000011."""

    def code(self, error: errors.ZuoraError, method: str, path: str) -> int:
        body = errors.error_body(error, "0123456789ABCDEF", method, path)
        return body["reasons"][0]["code"]

    @pytest.mark.parametrize(("method", "code"), [("GET", 50000040), ("DELETE", 50000040)])
    def test_a_failed_get_or_delete_names_the_generic_resource(self, method, code):
        error = errors.NotFound("gone", resource=errors.Resource.ACCOUNT)
        assert self.code(error, method, "/v1/accounts/A1") == code

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_a_failed_request_with_a_body_names_its_resource(self, method):
        error = errors.InvalidValue("bad", resource=errors.Resource.ACCOUNT)
        assert self.code(error, method, "/v1/accounts/A1") == 50001020

    def test_notification_endpoints_keep_their_own_codes(self):
        error = errors.NotFound("gone", resource=errors.Resource.NOTIFICATION_DEFINITION)
        path = "/notifications/notification-definitions/1"
        assert self.code(error, "GET", path) == 50004040

    @pytest.mark.parametrize("method", ["GET", "POST"])
    def test_an_authentication_failure_is_90000011(self, method):
        assert self.code(errors.AuthenticationFailed(), method, "/v1/accounts") == 90000011


class TestZuorasStatuses:
    """``ASYNCGATE_ERROR_STATUSES=zuora``, the default: which failures become a 200."""

    @pytest.mark.parametrize(
        "error",
        [
            errors.InvalidValue("bad"),
            errors.MalformedJson("bad"),
            errors.NotFound("gone"),
            errors.LockingContention("busy"),
            errors.BusinessRuleViolated("no"),
        ],
    )
    @pytest.mark.parametrize(
        "path", ["/v1/accounts", "/v1/orders/O-1", "/v1/async-jobs/1", "/v1/catalog/products"]
    )
    def test_a_failed_rest_call_is_a_200_with_success_false(self, error, path):
        assert errors.answered_status(error, path, "zuora") == 200
        assert errors.answered_status(error, path, "http") == error.status

    @pytest.mark.parametrize(
        "error",
        [
            errors.AuthenticationFailed(),
            errors.PermissionDenied("no"),
            errors.PayloadTooLarge("big"),
            errors.UnsupportedMediaType("xml"),
            errors.LimitExceeded("slow down"),
            errors.InternalError("oops"),
            errors.TemporaryError("later"),
            errors.UnsupportedMethod("no"),
            errors.UnknownPath("nothing here"),
            errors.InvalidTrackId("bad track"),
        ],
    )
    def test_these_keep_their_status_on_rest_paths(self, error):
        assert errors.answered_status(error, "/v1/accounts", "zuora") == error.status

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/object/account/1",
            "/v1/action/create",
            "/v1/notification-history/callout",
            "/notifications/notification-definitions",
            "/v1/async/accounts",
            "/v1/catalog/product/P-1",
            "/oauth/token",
        ],
    )
    def test_other_families_keep_their_statuses(self, path):
        assert errors.answered_status(errors.InvalidValue("bad"), path, "zuora") == 400


class TestUnknownRoutes:
    async def test_an_unknown_path_is_a_404_envelope(self, probe, tenant):
        response = await probe.get("/v1/nothing-here", headers=tenant.headers)

        body = assert_zuora_error(response, 404, Category.NOT_FOUND)
        assert "/v1/nothing-here" in body["reasons"][0]["message"]

    async def test_an_unknown_path_outside_the_api_is_a_404_envelope(self, probe):
        assert_zuora_error(await probe.get("/no/such/page"), 404, Category.NOT_FOUND)

    async def test_an_unknown_crud_path_answers_in_the_crud_envelope(self, probe, tenant):
        response = await probe.get("/v1/object/no-such-type/1/2", headers=tenant.headers)

        assert response.status_code == 404
        assert_request_id(response)
        assert response.json() == {
            "Success": False,
            "Errors": [{"Code": "INVALID_ID", "Message": response.json()["Errors"][0]["Message"]}],
        }

    async def test_a_wrong_method_on_a_known_path_is_a_405_envelope(self, probe, tenant):
        response = await probe.delete(TALLIES, headers=tenant.headers)

        body = assert_zuora_error(response, 405, Category.UNSUPPORTED_METHOD)
        assert "DELETE" in body["reasons"][0]["message"]

    async def test_a_405_names_the_allowed_methods(self, probe, tenant):
        response = await probe.put(TALLIES, json={}, headers=tenant.headers)

        assert_zuora_error(response, 405, Category.UNSUPPORTED_METHOD)
        assert response.headers["allow"] == "POST"

    @pytest.mark.parametrize("method", ["OPTIONS", "PATCH", "POST"])
    async def test_a_405_names_every_method_of_the_resource(self, probe, tenant, method):
        """A resource's methods are routes of their own: ``Allow`` names them all."""
        response = await probe.request(method, "/v1/accounts/A00000001", headers=tenant.headers)

        assert_zuora_error(response, 405, Category.UNSUPPORTED_METHOD)
        assert response.headers["allow"] == "DELETE, GET, HEAD, PUT"

    async def test_head_answers_as_get_without_a_body(self, probe, tenant):
        get = await probe.get("/v1/catalog/products", headers=tenant.headers)
        head = await probe.head("/v1/catalog/products", headers=tenant.headers)

        assert (get.status_code, head.status_code) == (200, 200)
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["content-length"] == get.headers["content-length"]

    async def test_head_where_get_is_not_served_is_a_405(self, probe, tenant):
        response = await probe.head(TALLIES, headers=tenant.headers)

        assert response.status_code == 405
        assert response.headers["allow"] == "POST"

    async def test_a_trailing_slash_is_a_404_never_a_redirect_to_the_host_header(
        self, probe, tenant
    ):
        response = await probe.get(
            "/v1/accounts/A00000001/", headers={**tenant.headers, "Host": "evil.example"}
        )

        assert_zuora_error(response, 404, Category.NOT_FOUND)
        assert "location" not in response.headers

    async def test_a_form_field_past_the_limit_is_malformed_not_an_internal_error(self, probe):
        too_long = {"client_id": "x" * (1025 * 1024), "client_secret": "s", "grant_type": "x"}

        response = await probe.post("/oauth/token", data=too_long)

        assert_zuora_error(response, 400, Category.MALFORMED_JSON)

    async def test_a_token_asked_for_with_nul_in_the_form_is_refused(self, probe):
        form = {"client_id": "a\x00b", "client_secret": "s", "grant_type": "client_credentials"}

        response = await probe.post("/oauth/token", data=form)

        assert_zuora_error(response, 400, Category.INVALID_VALUE)


class TestUnexpectedFailures:
    async def test_a_crashing_handler_answers_500_with_a_process_id(self, probe, tenant):
        response = await probe.post(
            FAILURES, json={"counter": uuid.uuid4().hex}, headers=tenant.headers
        )

        body = assert_zuora_error(response, 500, Category.INTERNAL_ERROR)
        # The message quotes the processId, so a user can hand it to an operator.
        assert body["processId"] in body["reasons"][0]["message"]
        assert "fails on purpose" not in response.text

    async def test_a_crashing_handler_changes_nothing(self, probe, tenant, database):
        counter = uuid.uuid4().hex

        await probe.post(FAILURES, json={"counter": counter}, headers=tenant.headers)

        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_the_service_keeps_answering_after_a_crash(self, probe, tenant):
        await probe.post(FAILURES, json={"counter": uuid.uuid4().hex}, headers=tenant.headers)

        response = await probe.post(
            TALLIES, json={"counter": uuid.uuid4().hex}, headers=tenant.headers
        )
        assert response.status_code == 200
