"""``/openapi.json`` as the API answers: its errors in Zuora's envelopes, not FastAPI's 422.

FastAPI documents every route with its success and a 422 the service never sends (validation
failures are 400s in Zuora's categories). The document served instead:

- no 422 of FastAPI's; each API operation lists the error statuses the shared conventions can
  answer it with (400, 401, 403, 404, 409, 429 and 504; 413 and 415 where it takes a body; the
  ``Idempotency-Key`` header and its 422 on POST and PATCH), each in the envelope of its
  family: REST (``success``, ``processId``, ``reasons``), CRUD objects (``Success``,
  ``Errors``) or Actions (``FaultCode``, ``FaultMessage``);
- where Zuora answers a failure with 200 (``ASYNCGATE_ERROR_STATUSES=zuora``, the default: 400,
  404 and 409 of the REST ``/v1`` routes), the 200 is the success body or the REST envelope;
- the async twins, as one generic path: ``/v1/async/{target}`` answers 202;
- the bearer token every API operation needs, as a security scheme;
- the console's pages left out: they are HTML for a browser, not the API.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from asyncgate.http.errors import (
    ACTION_PREFIX,
    KEEPS_STATUSES_PREFIXES,
    OBJECT_PREFIXES,
    STATUSES_ANSWERED_AS_200,
)
from asyncgate.http.idempotency import MAX_KEY_LENGTH

API_PREFIXES = ("/v1/", "/notifications/")
CONSOLE_PREFIX = "/console"
ASYNC_PATH = "/v1/async/{target}"
RESEND_PATH = "/notifications/callout-histories/resend"
# Refuses an Idempotency-Key: a replay would need its answer, a secret, stored in clear.
SIGNING_SECRET_PATH = "/notifications/callout-settings/signing-secret"
BEARER = "bearerAuth"
ERRORS = {
    400: "Invalid or malformed request (categories 20-23, 90)",
    401: "Missing, invalid or expired bearer token (category 11)",
    403: "The token's role may not do this, or another tenant's entity (category 10)",
    404: "No such resource (category 40)",
    409: "A business rule, a concurrent change, or an idempotency key in use (30, 50)",
    429: "The tenant's request limit (category 70); Retry-After says when to try again",
    504: "The request did not complete in time; nothing was kept",
}
BODY_ERRORS = {
    413: "The body exceeds the size limit",
    415: "The body is not JSON (application/json, UTF-8)",
}
KEY_REUSED = {422: "The Idempotency-Key was used for a different request"}
IDEMPOTENT_METHODS = {"post", "patch"}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A repeat with this key answers as the first request did and does nothing",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}
_REASON = {
    "type": "object",
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    "required": ["code", "message"],
}
ENVELOPES: dict[str, dict[str, Any]] = {
    "ZuoraErrorResponse": {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "processId": {"type": "string"},
            "reasons": {"type": "array", "items": _REASON},
            "code": {"type": "integer", "description": "/notifications only: the first reason's"},
            "message": {"type": "string"},
        },
        "required": ["success", "processId", "reasons"],
    },
    "CrudErrorResponse": {
        "type": "object",
        "properties": {
            "Success": {"type": "boolean", "enum": [False]},
            "Errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}},
                    "required": ["Code", "Message"],
                },
            },
            "message": {"type": "string"},
        },
        "required": ["Success", "Errors"],
    },
    "ActionFaultResponse": {
        "type": "object",
        "properties": {
            "FaultCode": {"type": "string"},
            "FaultMessage": {"type": "string"},
            "message": {"type": "string"},
        },
        "required": ["FaultCode", "FaultMessage"],
    },
    "ResendRefusedResponse": {
        "type": "object",
        "description": "Per callout history ID refused, why (Zuora's shape for this endpoint)",
        "additionalProperties": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        },
    },
    "AsyncAcceptResponse": {
        "type": "object",
        "properties": {
            "requestId": {"type": "string", "description": "every twin but order jobs'"},
            "jobId": {"type": "string", "description": "order jobs (POST/PUT/DELETE orders)"},
            "success": {"type": "boolean"},
        },
    },
}


def serve_described(app: FastAPI) -> None:
    """Make ``app`` serve the document this module describes (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = described(generated, app.state.settings.error_statuses)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented extension point


def described(document: dict[str, Any], error_statuses: str) -> dict[str, Any]:
    """``document`` (FastAPI's) with the errors, security and async twins of the service."""
    paths = {
        path: operations
        for path, operations in document.get("paths", {}).items()
        if not path.startswith(CONSOLE_PREFIX)
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            _describe(path, method, operation, error_statuses)
    paths[ASYNC_PATH] = _async_twins()
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(ENVELOPES)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /oauth/token (client credentials)",
        }
    }
    return document | {"paths": paths}


def _describe(path: str, method: str, operation: dict[str, Any], error_statuses: str) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if not path.startswith(API_PREFIXES):
        if path == "/oauth/token":
            responses.update(_errors({400: ERRORS[400], 401: ERRORS[401], 429: ERRORS[429]}))
            responses.update(_errors(BODY_ERRORS))
        return
    operation["security"] = [{BEARER: []}]
    envelope = _envelope_of(path)
    responses.update(_errors(ERRORS, envelope))
    if "requestBody" in operation or path.startswith(ACTION_PREFIX):
        responses.update(_errors(BODY_ERRORS, envelope))
    if method in IDEMPOTENT_METHODS and path != SIGNING_SECRET_PATH:
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        responses.update(_errors(KEY_REUSED, envelope))
    if error_statuses == "zuora" and _answers_failures_as_200(path):
        _success_or_failure(responses)
    if path == RESEND_PATH:  # unknown or unsendable IDs, each with its reason
        responses["400"]["content"]["application/json"]["schema"] = {
            "anyOf": [_ref("ZuoraErrorResponse"), _ref("ResendRefusedResponse")]
        }


def _envelope_of(path: str) -> str:
    if path.startswith(ACTION_PREFIX):
        return "ActionFaultResponse"
    if path.startswith(OBJECT_PREFIXES):
        return "CrudErrorResponse"
    return "ZuoraErrorResponse"


def _answers_failures_as_200(path: str) -> bool:
    return path.startswith("/v1/") and not path.startswith(KEEPS_STATUSES_PREFIXES)


def _errors(statuses: dict[int, str], envelope: str = "ZuoraErrorResponse") -> dict[str, Any]:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": _ref(envelope)}},
        }
        for status, description in statuses.items()
    }


def _success_or_failure(responses: dict[str, Any]) -> None:
    """The 200 of a route that answers its 400, 404 and 409 as 200 ``"success": false``."""
    failure = _ref("ZuoraErrorResponse")
    answered = ", ".join(str(status) for status in sorted(STATUSES_ANSWERED_AS_200))
    ok = responses.setdefault("200", {"description": "Successful Response"})
    content = ok.setdefault("content", {}).setdefault("application/json", {})
    success = content.get("schema")
    content["schema"] = failure if success is None else {"anyOf": [success, failure]}
    ok["description"] = (
        f"{ok.get('description', 'Successful Response')}; or a failure ({answered}) answered "
        'as 200 with "success": false, as Zuora does'
    )


def _async_twins() -> dict[str, Any]:
    stored = {"content": {"application/json": {"schema": _ref("AsyncAcceptResponse")}}}
    responses: dict[str, Any] = {
        "202": {"description": "Stored; executed later", **stored},
        **_errors(ERRORS),
        **_errors({405: "The target route does not serve this method"}),
        **_errors(BODY_ERRORS),
    }
    operation: dict[str, Any] = {
        "summary": "The asynchronous twin of a POST, PUT or DELETE /v1 route",
        "description": (
            "Any POST, PUT or DELETE route under /v1 (but Actions and the async machinery) "
            "with /v1/async/ in place of /v1/: the request is stored and answered at once; "
            "GET /v1/async-requests/{requestId} (or /v1/async-jobs/{jobId}) tells its outcome."
        ),
        "parameters": [
            {"name": "target", "in": "path", "required": True, "schema": {"type": "string"}},
            IDEMPOTENCY_KEY,  # another request's key is a 409
        ],
        "security": [{BEARER: []}],
        "responses": responses,
    }
    deletion = {"description": "Stored: the deletion of an order, as a job", **stored}
    return {
        "post": operation,
        "put": operation,
        "delete": operation | {"responses": responses | {"200": deletion}},
    }


def _ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}
