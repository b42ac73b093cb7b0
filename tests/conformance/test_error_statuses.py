"""Zuora's statuses for failed calls, through the real zuora-sdk against ``asyncgate serve``
with its default ``ASYNCGATE_ERROR_STATUSES=zuora``.

Sources: Zuora's developer guide "Error handling" ("HTTP 200 doesn't mean your call
succeeded"; 401 and 429 keep their statuses), the knowledge-center page "Responses and errors"
(REST calls answer 200 with ``success``), and zuora-sdk 3.21.0's status maps and models: every
REST operation's 200 model carries ``success``, ``processId`` and ``reasons``; CRUD operations
map 404 to ``ProxyNoDataResponse``; async operations map only 202 and errors.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.requests import an_account
from tests.e2e.sdk import assert_refused, exceptions, open_sdk, quiet_sdk, zuora_sdk

pytestmark = [quiet_sdk]

NOT_FOUND, INVALID_VALUE, MISSING_FIELD, MALFORMED_JSON = 40, 20, 22, 90


class TestFailedRestCalls:
    def test_a_refused_create_is_a_200_the_sdk_reads_as_success_false(self, accounts):
        answer = accounts.create_account_with_http_info(an_account(billCycleDay=32))
        assert answer.status_code == 200
        assert_refused(answer, INVALID_VALUE)

    def test_an_unknown_object_is_a_200_the_sdk_reads_as_success_false(self, accounts):
        assert_refused(accounts.get_account_with_http_info("A99999999"), NOT_FOUND)

    def test_a_missing_field_and_malformed_json_are_200s_too(self, http):
        missing = http.post("/v1/accounts", json={"currency": "USD"})
        malformed = http.post(
            "/v1/accounts", content=b"{", headers={"Content-Type": "application/json"}
        )
        for answer, category in ((missing, MISSING_FIELD), (malformed, MALFORMED_JSON)):
            assert answer.status_code == 200
            body = answer.json()
            assert body["success"] is False
            assert body["reasons"][0]["code"] % 100 == category


class TestStatusesThatStand:
    def test_a_bad_token_is_a_401_the_sdk_raises(self, live_server):
        with (
            open_sdk(live_server.base_url, "not-a-token") as api_client,
            pytest.raises(exceptions.UnauthorizedException) as refused,
        ):
            zuora_sdk.AccountsApi(api_client).get_account("A00000001")
        assert refused.value.status == 401

    def test_an_unknown_path_is_a_404(self, http):
        answer = http.get("/v1/no-such-things")
        assert answer.status_code == 404
        assert answer.json()["success"] is False

    def test_a_body_that_is_not_json_is_a_415(self, http):
        answer = http.post(
            "/v1/accounts", content=b"name=x", headers={"Content-Type": "text/plain"}
        )
        assert answer.status_code == 415

    def test_another_tenants_entity_is_a_403(self, http):
        answer = http.get("/v1/accounts/A00000001", headers={"Zuora-Entity-Ids": "someone-else"})
        assert answer.status_code == 403

    def test_a_crud_object_not_found_is_a_404_the_sdk_raises(self, sdk):
        with pytest.raises(exceptions.NotFoundException):
            zuora_sdk.ProductsApi(sdk).delete_product("0" * 32)

    def test_an_async_twins_refused_accept_keeps_its_status(self, http):
        answer = http.post(
            "/v1/async/accounts", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400
        assert answer.json()["reasons"][0]["code"] % 100 == MALFORMED_JSON


def test_the_default_is_zuoras(live_server):
    """The server under test runs with no ``ASYNCGATE_ERROR_STATUSES`` of its own."""
    assert "ASYNCGATE_ERROR_STATUSES" not in live_server.environment
    answer = httpx.get(
        f"{live_server.base_url}/v1/accounts/A1", headers=live_server.bearer_headers()
    )
    assert answer.status_code == 200
