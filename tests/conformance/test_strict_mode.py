"""``ASYNCGATE_ZUORA_STRICT=true`` turns off every extension to Zuora's API, so that a team's
tests can prove their integration uses only what Zuora offers; without it, each extension is
marked in the OpenAPI document. The extensions are rows of ``docs/zuora-differences.md``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from asyncgate.app import create_app
from asyncgate.notifications.schemas import (
    HISTORY_EXTENSIONS,
    CalloutHistoryOut,
    CalloutHistoryPage,
)
from tests.billing.api import account_body
from tests.e2e.sdk import models

SOME_REQUEST = "0193a1c4-5b6e-7f80-9a1b-2c3d4e5f6a7b"
EXTENSION_PATHS = {
    "/v1/async-requests/{request_id}": {"get", "delete"},
    "/notifications/callout-settings": {"get", "put"},
    "/notifications/callout-settings/signing-secret": {"post"},
}


@pytest.fixture(scope="module")
async def strict(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"zuora_strict": True}), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client


async def test_an_accept_carries_only_the_request_id(strict, tenant):
    answer = await strict.post("/v1/async/accounts", json=account_body(), headers=tenant.headers)

    assert answer.status_code == 202
    assert set(answer.json()) == {"requestId"}
    assert "location" not in answer.headers and "retry-after" not in answer.headers


async def test_an_accept_carries_location_and_retry_after_by_default(client, tenant):
    answer = await client.post("/v1/async/accounts", json=account_body(), headers=tenant.headers)

    request_id = answer.json()["requestId"]
    assert answer.headers["location"] == f"/v1/async-requests/{request_id}"
    assert answer.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1/async-requests/{SOME_REQUEST}"),
        ("DELETE", f"/v1/async-requests/{SOME_REQUEST}"),
        ("GET", "/notifications/callout-settings"),
        ("PUT", "/notifications/callout-settings"),
        ("POST", "/notifications/callout-settings/signing-secret"),
    ],
)
async def test_the_extensions_endpoints_are_unknown_paths(strict, tenant, method, path):
    answer = await strict.request(method, path, json={}, headers=tenant.headers)

    assert answer.status_code == 404


@pytest.mark.parametrize("extensions", [True, False])
def test_callout_history_rows_carry_zuoras_fields_alone_when_strict(extensions):
    row = CalloutHistoryOut(
        id="h1",
        notification_id="n1",
        attempted_num="1",
        create_time=datetime(2026, 12, 7, tzinfo=UTC),
        event_category="user.notification:Async Request Succeeded",
        event_context="{}",
        notification="A definition",
        request_method="POST",
        request_url="https://example.com/",
        response_code="200",
        response_content=None,
        error=None,
    )
    page = CalloutHistoryPage(callout_histories=[row], extensions=extensions)

    [dumped] = page.model_dump(by_alias=True)["calloutHistories"]

    zuoras = {
        field.alias or name for name, field in models.GetCalloutHistoryVOType.model_fields.items()
    }
    extra = set(dumped) - zuoras
    assert extra == (set(HISTORY_EXTENSIONS) if extensions else set())


async def test_the_openapi_document_marks_each_extension(client):
    document = (await client.get("/openapi.json")).json()

    marked = {
        path: {
            method for method, operation in item.items() if operation.get("x-asyncgate-extension")
        }
        for path, item in document["paths"].items()
    }
    assert {path: methods for path, methods in marked.items() if methods} == EXTENSION_PATHS
