"""``/openapi.json`` says what each route answers: Zuora's error envelopes (never FastAPI's
422), the bearer token, the async twins; and the errors the service sends fit it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.openapi.utils import get_openapi

from asyncgate.http.openapi import ASYNC_PATH, described

METHODS = {"get", "post", "put", "delete", "patch"}
ERROR_STATUSES = {"400", "401", "403", "404", "409", "429", "504"}


@pytest.fixture(scope="module")
async def document(client) -> dict[str, Any]:
    return (await client.get("/openapi.json")).json()


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def schema_of(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    reference = response["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][reference.rsplit("/", 1)[1]]


def fits(body: dict[str, Any], schema: dict[str, Any]) -> bool:
    """The envelopes' schemas are flat objects: every key declared, every required one there."""
    return set(schema["required"]) <= body.keys() <= schema["properties"].keys()


def test_only_a_reused_idempotency_key_is_documented_as_a_422(document):
    documented = {
        (path, method) for path, method, op in operations(document) if "422" in op["responses"]
    }
    keyed = {
        (path, method)
        for path, method, op in operations(document)
        if "Idempotency-Key" in {parameter["name"] for parameter in op.get("parameters", [])}
    }

    assert documented == {(path, method) for path, method in keyed if path != ASYNC_PATH}
    assert ("/notifications/callout-settings/signing-secret", "post") not in keyed  # refused
    assert {method for _, method in keyed} == {"post", "put", "delete"}  # PUT, DELETE: twins
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_api_operation_documents_its_errors_in_its_familys_envelope(document):
    families = {
        "/v1/action/": "ActionFaultResponse",
        "/v1/object/": "CrudErrorResponse",
        "/v1/": "ZuoraErrorResponse",
        "/notifications/": "ZuoraErrorResponse",
    }
    for path, method, operation in operations(document):
        family = next((name for prefix, name in families.items() if path.startswith(prefix)), None)
        if family is None:
            continue
        responses = operation["responses"]
        assert responses.keys() >= ERROR_STATUSES, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= responses.keys(), (method, path)
        for status in ERROR_STATUSES:
            schema = responses[status]["content"]["application/json"]["schema"]
            references = [option["$ref"] for option in schema.get("anyOf", [schema])]
            assert any(ref.endswith("/" + family) for ref in references), (method, path, status)


def test_api_operations_need_the_bearer_token_and_the_others_do_not(document):
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method, operation in operations(document):
        needs_token = path.startswith(("/v1/", "/notifications/"))
        assert ("security" in operation) == needs_token, (method, path)


def test_the_async_twins_are_one_documented_path_and_the_console_none(document):
    twins = document["paths"][ASYNC_PATH]
    assert {method: "202" in op["responses"] for method, op in twins.items()} == {
        "post": True,
        "put": True,
        "delete": True,
    }
    assert "200" in twins["delete"]["responses"]  # an order's deletion, as a job
    assert not [path for path in document["paths"] if path.startswith("/console")]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "envelope"),
    [
        ("GET", "/v1/accounts/no-such-account", None, 404, "ZuoraErrorResponse"),
        ("POST", "/v1/accounts", {"name": 5}, 400, "ZuoraErrorResponse"),
        ("POST", "/v1/object/account", {"Name": 5}, 400, "CrudErrorResponse"),
        ("POST", "/v1/action/query", {"queryString": "nonsense"}, 400, "ActionFaultResponse"),
        ("GET", "/notifications/notification-definitions/x", None, 404, "ZuoraErrorResponse"),
        ("POST", "/v1/async/accounts", {}, None, "AsyncAcceptResponse"),
    ],
)
async def test_the_answers_fit_the_documented_envelopes(
    client, tenant, document, method, path, body, status, envelope
):
    response = await client.request(method, path, json=body, headers=tenant.headers)

    if status is not None:
        assert response.status_code == status
    assert fits(response.json(), {"required": [], **document["components"]["schemas"][envelope]})


async def test_a_reused_idempotency_key_fits_the_documented_422(client, tenant, document):
    headers = {**tenant.headers, "Idempotency-Key": "reused"}
    await client.post("/v1/action/query", json={"queryString": "nonsense"}, headers=headers)

    response = await client.post("/v1/action/query", json={"queryString": "x"}, headers=headers)

    documented = document["paths"]["/v1/action/query"]["post"]["responses"]["422"]
    assert response.status_code == 422
    assert fits(response.json(), schema_of(document, documented))


async def test_an_unauthenticated_call_fits_the_documented_401(client, document):
    response = await client.get("/v1/accounts/A00000001")

    documented = document["paths"]["/v1/accounts/{account_key}"]["get"]["responses"]["401"]
    assert response.status_code == 401
    assert fits(response.json(), schema_of(document, documented))


def test_where_failures_answer_200_the_200_may_be_the_envelope(app):
    """With Zuora's statuses (the default), a REST failure is a 200 with "success": false."""
    zuora = described(get_openapi(title="t", version="1", routes=app.routes), "zuora")
    failure = {"$ref": "#/components/schemas/ZuoraErrorResponse"}

    rest = zuora["paths"]["/v1/accounts/{account_key}"]["get"]["responses"]["200"]
    crud = zuora["paths"]["/v1/object/{object_type}/{object_id}"]["get"]["responses"]["200"]
    assert failure in rest["content"]["application/json"]["schema"]["anyOf"]
    assert "anyOf" not in crud["content"]["application/json"]["schema"]


async def test_a_refused_resend_fits_its_documented_shape(client, tenant, document):
    response = await client.post(
        "/notifications/callout-histories/resend", json=["0" * 32], headers=tenant.headers
    )

    documented = document["paths"]["/notifications/callout-histories/resend"]["post"]
    schema = documented["responses"]["400"]["content"]["application/json"]["schema"]
    shape = document["components"]["schemas"]["ResendRefusedResponse"]["additionalProperties"]
    assert response.status_code == 400
    assert {"$ref": "#/components/schemas/ResendRefusedResponse"} in schema["anyOf"]
    assert all(fits(refusal, shape) for refusal in response.json().values())


class TestWhatTheRoutesEnforce:
    """The document states the constraints the routes check, so that what it calls valid is
    accepted and what it calls invalid refused."""

    def test_a_field_that_refuses_null_is_not_nullable(self, document):
        update = document["components"]["schemas"]["AccountUpdate"]["properties"]

        assert update["autoPay"] == {"type": "boolean", "title": "Autopay"}
        assert {"type": "null"} in update["notes"]["anyOf"]  # null clears it

    def test_billing_bodies_admit_custom_fields_and_no_other(self, document):
        account = document["components"]["schemas"]["AccountUpdate"]

        assert account["additionalProperties"] is False
        [(names, values)] = account["patternProperties"].items()
        assert names == "^[A-Za-z][A-Za-z0-9_]{0,60}__c$"
        assert {"type": "string", "maxLength": 255} in values["anyOf"]

    def test_a_role_is_given_to_another_contact_or_its_contact_changed_not_both(self, document):
        update = document["components"]["schemas"]["AccountUpdate"]

        assert {"required": ["billToContactId", "billToContact"]} in update["not"]["anyOf"]
        assert {"required": ["soldToContactId", "soldToContact"]} in update["not"]["anyOf"]

    def test_patterns_of_batches_and_the_currencies(self, document):
        account = document["components"]["schemas"]["AccountCreateRequest"]["properties"]

        assert account["batch"]["pattern"] == "^Batch([1-9]|[1-4][0-9]|50)$"
        assert {"USD", "EUR", "JPY", "KWD"} <= set(account["currency"]["enum"])
        assert not {"XYZ", "XAU", "XTS"} & set(account["currency"]["enum"])

    def test_object_types_are_named(self, document):
        parameters = document["paths"]["/v1/object/{object_type}"]["post"]["parameters"]
        (kind,) = [parameter for parameter in parameters if parameter["name"] == "object_type"]
        save = document["components"]["schemas"]["ActionSave"]["properties"]

        assert "product-rate-plan-charge" in kind["schema"]["enum"]
        assert "ProductRatePlanCharge" in save["type"]["enum"]
        assert save["objects"]["maxItems"] == 50

    def test_a_token_request_needs_every_field_and_the_one_grant_type(self, document):
        form = document["components"]["schemas"]["Body_create_token_oauth_token_post"]

        assert form["properties"]["client_id"]["minLength"] == 1
        assert form["properties"]["grant_type"]["enum"] == ["client_credentials"]
