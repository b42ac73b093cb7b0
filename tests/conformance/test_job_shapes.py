"""A finished preview order job reads as zuora-sdk 3.21.0 declares it, through the SDK against
``asyncgate serve``.

Sources: zuora-sdk 3.21.0's ``OrdersApi``: ``preview_order_asynchronously``
(``POST /v1/async/orders/preview``) starts the job and ``get_job_status_and_response``
(``GET /v1/async-jobs/{jobId}``) answers ``GetAsyncOrderJobResponse``, whose ``result`` is, for
a preview, ``GetAsyncPreviewOrderJobResponse``: the preview's own fields (``invoices``,
``chargeMetrics``, ...) at its top level beside ``jobType``, whose only enum value is
``AsyncPreviewOrder``. The synchronous ``preview_order`` (``PreviewOrderResponse``) nests the
same fields under ``previewResult``; the job's result does not.

The SDK cannot deserialize a finished job's ``result`` (see ``tests/e2e``), so the job is read
through the SDK's own request and its raw JSON checked against the SDK's models.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from tests.e2e.sdk import body_of, models, quiet_sdk, zuora_sdk
from tests.e2e.shapes import assert_shape
from tests.e2e.test_sdk_async_orders import finished_job
from tests.e2e.test_sdk_orders import new_preview, rate_plan_id

pytestmark = [pytest.mark.e2e, quiet_sdk]
__all__ = ["rate_plan_id"]  # a fixture, used by name: it builds its catalog through ``sdk``


def enum_checked(model: type[BaseModel], field: str, value: str) -> str:
    """``value``, once the SDK's enum check of ``model.field`` (its ``*_validate_enum``
    validator, which raises ``ValueError`` for a value outside the enum) has passed it: the
    SDK's models never call it themselves, not even ``model_validate``."""
    validators = model.__pydantic_decorators__.field_validators
    return validators[f"{field}_validate_enum"].func(value)


def test_a_preview_jobs_result_holds_the_previews_fields_at_its_top(sdk, rate_plan_id):
    orders = zuora_sdk.OrdersApi(sdk)
    preview = new_preview(rate_plan_id)  # asks for BillingDocs and ChargeMetrics
    started = orders.preview_order_asynchronously(
        models.PreviewOrderAsyncRequest.from_dict(preview.to_dict())
    )
    assert isinstance(started, models.PreviewOrderAsyncResponse)

    answer = finished_job(orders, started.job_id)

    assert models.JobStatus(answer["status"]) is models.JobStatus.COMPLETED
    assert (answer["errors"], answer["success"]) == (None, True)
    result = answer["result"]
    assert "previewResult" not in result
    assert_shape(
        result, models.GetAsyncPreviewOrderJobResponse, ["invoices", "chargeMetrics", "jobType"]
    )
    job_type = enum_checked(models.GetAsyncPreviewOrderJobResponse, "job_type", result["jobType"])
    assert job_type == "AsyncPreviewOrder"  # the enum's only value
    read = models.GetAsyncPreviewOrderJobResponse.from_dict(result)
    [invoice] = read.invoices
    assert invoice.amount == 154.84
    assert [item.amount_without_tax for item in invoice.invoice_items] == [54.84, 100]

    # The same preview asked for synchronously: the job's result is its ``previewResult``.
    synchronous = body_of(orders.preview_order_with_http_info(preview))["previewResult"]
    assert set(result) - {"success", "jobType"} == set(synchronous) == {"invoices", "chargeMetrics"}
    assert result["invoices"] == synchronous["invoices"]
    [metrics] = result["chargeMetrics"]
    [charge] = metrics["charges"]
    assert charge["cmrr"]["regular"] == 100
