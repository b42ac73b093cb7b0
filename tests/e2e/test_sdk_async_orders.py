"""Asynchronous orders through the real Zuora SDK: ``create_order_asynchronously``,
``preview_order_asynchronously`` and ``delete_order_asynchronously`` start jobs, and
``get_job_status_and_response`` follows each until it is Completed, against the running
server and its worker process.

The SDK (3.21.0) cannot deserialize a finished job's ``result`` (its oneOf of the create and
preview results matches both), so jobs are read through the SDK's own request for
``get_job_status_and_response`` and their raw JSON checked.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.e2e.sdk import assert_refused, models, quiet_sdk, zuora_sdk
from tests.e2e.test_sdk_orders import ORDER_NUMBER, new_order, new_preview, rate_plan_id

pytestmark = [pytest.mark.e2e, quiet_sdk]
__all__ = ["rate_plan_id"]  # a fixture, used by name

JOB_TIMEOUT_SECONDS = 20.0


@pytest.fixture
def orders(sdk) -> zuora_sdk.OrdersApi:
    return zuora_sdk.OrdersApi(sdk)


def job_answer(orders: zuora_sdk.OrdersApi, job_id: str) -> dict[str, Any]:
    """``GET /v1/async-jobs/{jobId}`` as the SDK sends it, its answer as raw JSON."""
    request = orders._get_job_status_and_response_serialize(
        job_id=job_id,
        accept_encoding=None,
        content_encoding=None,
        authorization=None,
        zuora_track_id=None,
        zuora_version=None,
        zuora_org_ids=None,
        _request_auth=None,
        _content_type=None,
        _headers=None,
        _host_index=0,
    )
    response = orders.api_client.call_api(*request)
    response.read()
    assert response.status == 200, response.data
    return json.loads(response.data)


def finished_job(orders: zuora_sdk.OrdersApi, job_id: str) -> dict[str, Any]:
    """The job's answer once it is no longer Processing."""
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        answer = job_answer(orders, job_id)
        if answer["status"] != "Processing":
            return answer
        assert (answer["result"], answer["errors"]) == (None, None)
        assert time.monotonic() < deadline, f"job {job_id} still processing"
        time.sleep(0.05)


def completed(answer: dict[str, Any], job_type: str) -> dict[str, Any]:
    assert (answer["status"], answer["errors"], answer["success"]) == ("Completed", None, True)
    assert answer["result"]["jobType"] == job_type
    return answer["result"]


class TestAsyncOrdersThroughTheSdk:
    def test_an_order_created_previewed_and_deleted_as_jobs(self, orders, rate_plan_id):
        order = new_order(rate_plan_id)
        started = orders.create_order_asynchronously(
            models.CreateOrderAsyncRequest.from_dict(order.to_dict())
        )
        assert isinstance(started, models.CreateOrderAsyncResponse)
        assert started.success is True

        created = completed(finished_job(orders, started.job_id), "AsyncCreateOrder")
        assert ORDER_NUMBER.match(created["orderNumber"])
        assert created["success"] is True
        placed = orders.get_order(created["orderNumber"]).order
        assert placed.order_number == created["orderNumber"]

        preview = new_preview(rate_plan_id)
        previewing = orders.preview_order_asynchronously(
            models.PreviewOrderAsyncRequest.from_dict(preview.to_dict())
        )
        assert isinstance(previewing, models.PreviewOrderAsyncResponse)
        previewed = completed(finished_job(orders, previewing.job_id), "AsyncPreviewOrder")
        [invoice] = previewed["invoices"]  # at the top: GetAsyncPreviewOrderJobResponse
        assert invoice["amount"] == 154.84

        deleting = orders.delete_order_asynchronously(created["orderNumber"])
        assert isinstance(deleting, models.DeleteOrderAsyncResponse)
        assert deleting.success is True
        completed(finished_job(orders, deleting.job_id), "AsyncDeleteOrder")
        assert_refused(orders.get_order_with_http_info(created["orderNumber"]), category=40)

    def test_a_refused_order_is_a_failed_job_with_the_reason(self, orders):
        started = orders.create_order_asynchronously(
            models.CreateOrderAsyncRequest.from_dict(new_order("0" * 32).to_dict())
        )

        answer = finished_job(orders, started.job_id)

        assert answer["status"] == "Failed"
        assert "productRatePlanId" in answer["errors"]
        assert answer["result"]["success"] is False
        assert answer["result"]["jobType"] == "AsyncCreateOrder"

    def test_an_unknown_job_is_not_found(self, orders):
        unknown = orders.get_job_status_and_response_with_http_info(str(uuid.uuid4()))
        assert_refused(unknown, category=40)
