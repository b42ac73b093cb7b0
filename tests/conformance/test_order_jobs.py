"""Async order jobs are followed, not announced: through the real zuora-sdk against
``asyncgate serve``, with a real HTTPS callout receiver.

Source: Zuora's developer guide "Asynchronous requests": the async order operations
(``POST /v1/async/orders``, its preview ``POST /v1/async/orders/preview`` and the deletion
``DELETE /v1/async/orders/{orderNumber}``) are among the operations that raise no Async Request
Succeeded or Failed events; callers follow them through ``GET /v1/async-jobs/{jobId}``.

The jobs are followed with the SDK's own request for ``get_job_status_and_response`` (whose
answer the SDK cannot deserialize once it carries a result: see ``tests/e2e``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.billing.api import account_body
from tests.e2e.sdk import models, open_sdk, quiet_sdk, zuora_sdk
from tests.e2e.test_callouts import FAILED, SUCCEEDED, accept, define
from tests.e2e.test_sdk_async_orders import completed, finished_job
from tests.e2e.test_sdk_orders import new_order, rate_plan_id
from tests.factories import TenantContext
from tests.support.receiver import WAIT_SECONDS, Receiver

pytestmark = [pytest.mark.e2e, quiet_sdk]
__all__ = ["rate_plan_id"]  # a fixture, used by name: it builds its catalog through ``sdk``


@pytest.fixture
def sdk(live_server, live_tenant: TenantContext) -> Iterator[zuora_sdk.ApiClient]:
    """The SDK as the test's own tenant, the one whose definitions ``api`` creates."""
    with open_sdk(live_server.base_url, live_tenant.token) as api_client:
        yield api_client


def start_order(orders: zuora_sdk.OrdersApi, product_rate_plan_id: str) -> str:
    """The job ID of an order for a new account, subscribing to ``product_rate_plan_id``."""
    order = models.CreateOrderAsyncRequest.from_dict(new_order(product_rate_plan_id).to_dict())
    started = orders.create_order_asynchronously(order)
    assert started.success is True
    return started.job_id


def announced_requests(receiver: Receiver, path: str, request_id: str) -> list[dict[str, Any]]:
    """The ``request`` of every callout that reached ``path``, once one is about
    ``request_id``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        announced = [orjson.loads(arrival.body)["request"] for arrival in receiver.arrivals(path)]
        if any(request["id"] == request_id for request in announced):
            return announced
        assert time.monotonic() < deadline, f"no callout about {request_id}: {announced}"
        time.sleep(0.02)


def test_order_jobs_raise_no_async_request_events_while_an_async_twin_does(
    api, sdk, rate_plan_id, callout_receiver
):
    path = callout_receiver.new_path()
    for event_type in (SUCCEEDED, FAILED):
        define(api, callout_receiver.url(path), event_type=event_type)
    orders = zuora_sdk.OrdersApi(sdk)

    placed, refused = start_order(orders, rate_plan_id), start_order(orders, "0" * 32)
    completed(finished_job(orders, placed), "AsyncCreateOrder")
    assert finished_job(orders, refused)["status"] == "Failed"
    # The control, accepted once both jobs have finished: its callout, sent to the same
    # receiver by the same definitions, proves that they would have heard of the jobs.
    control = accept(api, account_body(), track_id="conformance-control")

    announced = announced_requests(callout_receiver, path, control)

    jobs = {placed, refused}
    about_orders = [
        request
        for request in announced
        if request["id"] in jobs or request["url"].startswith("/v1/async/orders")
    ]
    assert about_orders == []
    assert announced == [
        {
            "id": control,
            "method": "POST",
            "url": "/v1/async/accounts",
            "trackId": "conformance-control",
        }
    ]
