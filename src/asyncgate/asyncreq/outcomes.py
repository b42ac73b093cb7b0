"""What became of a request: its final answer and the event recorded in the same commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asyncgate.asyncreq.jobs import is_job
from asyncgate.asyncreq.models import State, StoredRequest
from asyncgate.http.answer import Answer
from asyncgate.notifications.outbox import EventType, event_values


def zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def async_url(request: StoredRequest) -> str:
    """The URL the caller used: the async twin of the synchronous path that was executed."""
    url = "/v1/async" + request.path.removeprefix("/v1")
    return f"{url}?{request.query_string}" if request.query_string else url


def callout_payload(
    request: StoredRequest,
    *,
    state: State,
    completed_at: datetime,
    resource_id: str | None = None,
    reasons: list[dict[str, object]] | None = None,
    process_id: str | None = None,
) -> dict[str, object]:
    """The Async Request Succeeded / Failed payload, in the shape Zuora documents."""
    payload: dict[str, object] = {
        "createTime": zulu(request.created_at),
        "completeTime": zulu(completed_at),
        "request": {
            "id": request.id,
            "method": request.method,
            "url": async_url(request),
            "trackId": request.track_id,
        },
        "state": state.value,
    }
    if state == State.SUCCEEDED:
        payload["data"] = {"id": resource_id}
    else:
        payload["reasons"] = [
            {"code": reason.get("code"), "message": reason.get("message")}
            for reason in reasons or []
        ]
        payload["processId"] = process_id
    return payload


def resource_id_of(answer: Answer) -> str | None:
    """The changed resource's ID: what the route declared, else the answer's own ``id``."""
    if answer.resource_id:
        return answer.resource_id
    document = answer.json()
    if isinstance(document, dict):
        for key in ("id", "Id"):
            if isinstance(document.get(key), str):
                return document[key]
    return None


def default_process_id(request: StoredRequest) -> str:
    """A process ID for failures that produced no answer of their own (timeouts, crashes)."""
    return request.id.replace("-", "")[-16:].upper()


def process_id_of(answer: Answer, request: StoredRequest) -> str:
    document = answer.json()
    if isinstance(document, dict) and isinstance(document.get("processId"), str):
        return document["processId"]
    return default_process_id(request)


def finished_event(request: StoredRequest, **outcome: Any) -> dict[str, object] | None:
    """The finished request's event, for the outbox; ``outcome`` is
    :func:`callout_payload`'s keywords. None for a job, which Zuora announces by no event."""
    if is_job(request.method, request.path):
        return None
    event_type = (
        EventType.ASYNC_REQUEST_SUCCEEDED
        if outcome["state"] == State.SUCCEEDED
        else EventType.ASYNC_REQUEST_FAILED
    )
    payload = callout_payload(request, **outcome)
    return event_values(request.tenant_id, event_type, request.id, payload)
