"""Zuora's asynchronous order jobs, on the same queue as every async request.

Zuora runs a few operations (creating, previewing and deleting an order) as *jobs*: ``POST
/v1/async/orders`` answers ``{"jobId", "success": true}`` and ``GET /v1/async-jobs/{jobId}``
tells how the job stands, with the operation's answer inside once it is done. Here those are
async twins like any other (stored durably, executed by the workers with the same retries),
whose request ID is the job ID. Their answers differ: a route that Zuora runs as a job has a
job type, and the accept and the status resource speak that job's language. And as Zuora's
guide "Asynchronous requests" says, they raise no Async Request Succeeded or Failed events:
callers follow them through ``/v1/async-jobs``. Zuora's own jobs are listed here;
:func:`runs_as_job` adds others.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import orjson
from starlette.routing import compile_path

from asyncgate.asyncreq.models import AsyncRequest, State


class JobType(StrEnum):
    CREATE_ORDER = "AsyncCreateOrder"
    PREVIEW_ORDER = "AsyncPreviewOrder"
    DELETE_ORDER = "AsyncDeleteOrder"


class JobStatus(StrEnum):
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    FAILED = "Failed"


# The accept's status code per method, as the SDK expects it: it reads a job's creation from a
# 202 only, and a deletion's from a 200 only.
ACCEPT_STATUS = {"POST": 202, "PUT": 202, "DELETE": 200}

# The operations Zuora runs as jobs, by method and route path template.
_job_types: dict[tuple[str, str], JobType] = {
    ("POST", "/v1/orders"): JobType.CREATE_ORDER,
    ("POST", "/v1/orders/preview"): JobType.PREVIEW_ORDER,
    ("DELETE", "/v1/orders/{order_number}"): JobType.DELETE_ORDER,
}


# Per method, the patterns of its job templates, for telling a stored request's path apart.
_job_patterns: dict[str, list[re.Pattern[str]]] = {}


def runs_as_job(method: str, path: str, job_type: JobType) -> None:
    """Declares that the async twin of ``method path`` (a route's path template, such as
    ``/v1/orders/{order_number}``) is a job of ``job_type``."""
    _job_types[(method, path)] = job_type
    _job_patterns.clear()


def job_type_of(method: str, route_path: str | None) -> JobType | None:
    return _job_types.get((method, route_path)) if route_path else None


def is_job(method: str, path: str) -> bool:
    """Whether ``method path``, a stored request's synchronous path (``/v1/orders/O-1``), is a
    job: a match of a few patterns, where resolving its route would try them all."""
    if not _job_patterns:
        for job_method, template in _job_types:
            _job_patterns.setdefault(job_method, []).append(compile_path(template)[0])
    return any(pattern.match(path) for pattern in _job_patterns.get(method, ()))


def status_of(request: AsyncRequest) -> JobStatus:
    if request.state == State.SUCCEEDED:
        return JobStatus.COMPLETED
    if request.state in (State.FAILED, State.CANCELLED):
        return JobStatus.FAILED
    return JobStatus.PROCESSING


def job_answer(request: AsyncRequest, job_type: JobType) -> dict[str, Any]:
    """``GET /v1/async-jobs/{jobId}``: the job's status and, once it finished, the synchronous
    operation's answer as its ``result`` (with ``jobType``), and its reasons as ``errors``."""
    status = status_of(request)
    answer = _finished_answer(request)
    result = None
    errors = None
    if status != JobStatus.PROCESSING:
        result = {**_result_fields(answer, job_type), "jobType": job_type.value}
    if status == JobStatus.FAILED:
        messages = [str(reason.get("message")) for reason in answer.get("reasons") or []]
        errors = "; ".join(messages) or request.last_error or f"The job was {request.state}"
    return {"errors": errors, "result": result, "status": status.value, "success": True}


def _result_fields(answer: dict[str, Any], job_type: JobType) -> dict[str, Any]:
    """The operation's answer as the job's ``result`` holds it: a preview's ``invoices``,
    ``chargeMetrics`` and the rest sit at the top of the result
    (``GetAsyncPreviewOrderJobResponse``), not under ``previewResult`` as in the synchronous
    answer."""
    if job_type != JobType.PREVIEW_ORDER or not isinstance(answer.get("previewResult"), dict):
        return answer
    fields = {name: value for name, value in answer.items() if name != "previewResult"}
    return fields | answer["previewResult"]


def _finished_answer(request: AsyncRequest) -> dict[str, Any]:
    if not request.response_body:
        return {}
    try:
        answer = orjson.loads(request.response_body)
    except orjson.JSONDecodeError:
        return {}
    return answer if isinstance(answer, dict) else {}
