"""Zuora's error codes, through the real zuora-sdk against ``asyncgate serve``.

Source: Zuora's developer guide "Error codes": resource codes come from the request's payload,
so a GET or DELETE that fails answers the generic resource code 500000 (its category still
valid); an invalid credential in the request header is 90000011.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.sdk import exceptions, open_sdk, quiet_sdk, zuora_sdk

pytestmark = [quiet_sdk]


def test_a_failed_get_answers_the_generic_resource_code(accounts):
    answer = accounts.get_account_with_http_info("A99999999")
    [reason] = answer.data.reasons
    assert reason.code == 50000040


def test_a_failed_delete_answers_the_generic_resource_code(sdk):
    answer = zuora_sdk.ContactsApi(sdk).delete_contact_with_http_info("0" * 32)
    [reason] = answer.data.reasons
    assert reason.code == 50000040


def test_a_bad_token_answers_90000011(live_server):
    with (
        open_sdk(live_server.base_url, "not-a-token") as api_client,
        pytest.raises(exceptions.UnauthorizedException) as refused,
    ):
        zuora_sdk.AccountsApi(api_client).get_account("A00000001")
    [reason] = json.loads(refused.value.body)["reasons"]
    assert reason["code"] == 90000011
