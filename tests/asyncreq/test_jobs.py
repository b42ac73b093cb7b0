"""Zuora's async jobs: twins answered ``{"jobId"}`` and tracked at ``/v1/async-jobs/{jobId}``."""

from __future__ import annotations

import uuid

import orjson
import pytest

from asyncgate.asyncreq.jobs import ACCEPT_STATUS, JobType, is_job, job_answer
from asyncgate.asyncreq.models import AsyncRequest, State
from tests.asyncreq.support import (
    ASYNC_JOB_TRIALS,
    ASYNC_TRIALS,
    accept,
    events_of,
    trial,
)
from tests.e2e.sdk import models
from tests.http.assertions import assert_zuora_error


async def start_job(client, tenant, body=None, *, method="POST", path=ASYNC_JOB_TRIALS) -> str:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == ACCEPT_STATUS[method], response.text
    answer = response.json()
    assert answer == {"jobId": answer["jobId"], "success": True}
    assert response.headers["location"] == f"/v1/async-jobs/{answer['jobId']}"
    return answer["jobId"]


async def job(client, tenant, job_id: str) -> dict:
    response = await client.get(f"/v1/async-jobs/{job_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestStartingAJob:
    async def test_a_job_is_answered_with_its_id_as_zuora_does(self, client, tenant, database):
        job_id = await start_job(client, tenant, trial())
        assert str(uuid.UUID(job_id)) == job_id  # a UUID in its canonical form, as Zuora's
        # The job ID names the stored request: its status resource knows it.
        status = await client.get(f"/v1/async-requests/{job_id}", headers=tenant.headers)
        assert status.status_code == 200
        assert (status.json()["id"], status.json()["state"]) == (job_id, "queued")
        assert (await job(client, tenant, job_id))["status"] == "Processing"

    async def test_a_deletion_job_is_answered_200_as_the_sdk_expects(self, client, tenant):
        await start_job(client, tenant, method="DELETE", path=f"{ASYNC_JOB_TRIALS}/one")

    async def test_other_twins_still_answer_with_a_request_id(self, client, tenant):
        response = await client.post(ASYNC_TRIALS, json=trial(), headers=tenant.headers)
        assert response.status_code == 202
        assert set(response.json()) == {"requestId"}


class TestTrackingAJob:
    async def test_a_waiting_job_is_processing(self, client, tenant):
        job_id = await start_job(client, tenant, trial())
        assert await job(client, tenant, job_id) == {
            "errors": None,
            "result": None,
            "status": "Processing",
            "success": True,
        }

    async def test_a_finished_job_carries_the_operations_answer(
        self, client, tenant, database, worker
    ):
        body = trial()
        job_id = await start_job(client, tenant, body)
        await worker.run_once()

        answer = await job(client, tenant, job_id)

        assert answer["status"] == "Completed"
        assert answer["errors"] is None
        assert answer["result"] == {
            "success": True,
            "key": body["key"],
            "jobType": "AsyncCreateOrder",
        }
        # Zuora's guide "Asynchronous requests": jobs raise no Async Request events.
        assert await events_of(database, job_id) == []

    async def test_a_failed_job_says_why(self, client, tenant, database, worker):
        job_id = await start_job(client, tenant, trial(failures=1, error="rule"))
        await worker.run_once()

        answer = await job(client, tenant, job_id)

        assert answer["status"] == "Failed"
        assert "fails on purpose" in answer["errors"]
        assert answer["result"]["jobType"] == "AsyncCreateOrder"
        assert answer["result"]["success"] is False
        assert await events_of(database, job_id) == []

    async def test_a_cancelled_job_has_failed(self, client, tenant):
        job_id = await start_job(client, tenant, trial())
        response = await client.delete(f"/v1/async-requests/{job_id}", headers=tenant.headers)
        assert response.status_code == 200

        answer = await job(client, tenant, job_id)

        assert answer["status"] == "Failed"
        assert answer["errors"]


class TestUnknownJobs:
    async def test_an_unknown_job_is_not_found(self, client, tenant):
        response = await client.get(f"/v1/async-jobs/{uuid.uuid4()}", headers=tenant.headers)
        assert_zuora_error(response, 404, 40)

    async def test_a_malformed_job_id_is_not_found(self, client, tenant):
        response = await client.get("/v1/async-jobs/not-a-job", headers=tenant.headers)
        assert_zuora_error(response, 404, 40)

    async def test_an_async_request_that_is_no_job_is_not_found(self, client, tenant):
        request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
        response = await client.get(f"/v1/async-jobs/{request_id}", headers=tenant.headers)
        assert_zuora_error(response, 404, 40)

    async def test_another_tenants_job_is_not_found(self, client, tenant, other_tenant):
        job_id = await start_job(client, tenant, trial())
        response = await client.get(f"/v1/async-jobs/{job_id}", headers=other_tenant.headers)
        assert_zuora_error(response, 404, 40)


@pytest.mark.parametrize(
    ("method", "path", "job"),
    [
        ("POST", "/v1/orders", True),
        ("POST", "/v1/orders/preview", True),
        ("DELETE", "/v1/orders/O-00000001", True),
        ("GET", "/v1/orders/O-00000001", False),
        ("POST", "/v1/accounts", False),
        ("DELETE", "/v1/accounts/A00000001", False),
        ("POST", "/v1/orders/O-00000001/extra", False),
    ],
)
def test_a_stored_requests_path_tells_whether_it_is_a_job(method, path, job):
    assert is_job(method, path) is job


def test_a_preview_jobs_result_holds_the_preview_at_its_top():
    preview = {"invoices": [{"amount": 154.84}], "chargeMetrics": [{"subscriptionNumber": "S"}]}
    request = AsyncRequest(
        state=State.SUCCEEDED,
        response_body=orjson.dumps({"success": True, "previewResult": preview}),
    )

    result = job_answer(request, JobType.PREVIEW_ORDER)["result"]

    assert result == {"success": True, **preview, "jobType": "AsyncPreviewOrder"}
    read = models.GetAsyncPreviewOrderJobResponse.from_dict(result)
    assert read.invoices[0].amount == 154.84
