"""``Idempotency-Key`` as Zuora's guide "Idempotent requests" describes it, through the real
zuora-sdk against ``asyncgate serve``: the status, headers and body of a request are saved
"regardless of whether it succeeded or failed", later requests with the key get that result,
and a key reused with another request is a 422 Unprocessable Content."""

from __future__ import annotations

import uuid

import pytest

from tests.conformance.requests import an_account
from tests.e2e.sdk import exceptions, quiet_sdk

pytestmark = [quiet_sdk]


def test_a_repeat_gets_the_first_answer(accounts):
    key = uuid.uuid4().hex
    first = accounts.create_account_with_http_info(an_account(), idempotency_key=key)
    repeat = accounts.create_account_with_http_info(an_account(), idempotency_key=key)

    assert repeat.data.account_id == first.data.account_id
    assert repeat.raw_data == first.raw_data


def test_a_failed_request_is_answered_the_same_again(accounts):
    key = uuid.uuid4().hex
    refused = an_account(billCycleDay=32)
    first = accounts.create_account_with_http_info(refused, idempotency_key=key)
    repeat = accounts.create_account_with_http_info(refused, idempotency_key=key)

    assert first.data.success is False
    assert repeat.raw_data == first.raw_data  # the same processId too


def test_a_key_reused_with_another_request_is_a_422(accounts):
    key = uuid.uuid4().hex
    accounts.create_account(an_account(), idempotency_key=key)

    with pytest.raises(exceptions.ApiException) as reused:
        accounts.create_account(an_account(name="Another"), idempotency_key=key)

    assert reused.value.status == 422
