"""What every Zuora REST error answer looks like, checked in one place."""

from __future__ import annotations

import re
import uuid

import httpx

PROCESS_ID = re.compile(r"^[0-9A-F]{16}$")


def assert_request_id(response: httpx.Response) -> str:
    request_id = response.headers["zuora-request-id"]
    assert str(uuid.UUID(request_id)) == request_id
    return request_id


AUTHENTICATION_FAILED = 11


def assert_zuora_error(response: httpx.Response, status: int, category: int) -> dict:
    """A REST error envelope with an honest status and eight-digit codes of ``category``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert_request_id(response)
    body = response.json()
    assert body["success"] is False
    assert PROCESS_ID.match(body["processId"]), body
    assert body["reasons"], body
    for reason in body["reasons"]:
        code = reason["code"]
        assert isinstance(code, int), reason
        if category == AUTHENTICATION_FAILED:  # Zuora's guide "Error codes": 90000011
            assert code == 90_000_011, reason
        else:
            assert 50_000_000 <= code <= 67_999_999 and code % 100 == category, reason
        assert isinstance(reason["message"], str) and reason["message"]
    return body


def assert_action_fault(response: httpx.Response, status: int) -> tuple[str, str]:
    """An Actions request refused whole: Zuora's ``FaultResponse``, plus the gateway's
    ``message`` on a 401. Returns the symbolic code and the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert_request_id(response)
    body = response.json()
    fields = {"FaultCode", "FaultMessage"} | ({"message"} if status == 401 else set())
    assert body.keys() == fields, body
    assert isinstance(body["FaultCode"], str) and body["FaultCode"], body
    assert isinstance(body["FaultMessage"], str) and body["FaultMessage"], body
    return body["FaultCode"], body["FaultMessage"]
