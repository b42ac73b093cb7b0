"""Zuora's error model: one exception hierarchy, rendered into Zuora's envelopes in one place.

A REST error code is eight digits: a six-digit resource code followed by a two-digit category
(``50001040`` = account, not found). CRUD and Actions endpoints use their own PascalCase
envelope with symbolic codes instead.
"""

from __future__ import annotations

from enum import IntEnum

import orjson
from starlette.responses import Response


class Category(IntEnum):
    PERMISSION_DENIED = 10
    AUTHENTICATION_FAILED = 11
    INVALID_VALUE = 20
    UNKNOWN_FIELD = 21
    MISSING_FIELD = 22
    MISSING_PARAMETER = 23
    BUSINESS_RULE = 30
    NOT_FOUND = 40
    UNSUPPORTED_METHOD = 45
    LOCKING_CONTENTION = 50
    INTERNAL_ERROR = 60
    TEMPORARY_ERROR = 61
    LIMIT_EXCEEDED = 70
    MALFORMED_JSON = 90
    INTEGRATION_ERROR = 99


class Resource(IntEnum):
    """The six-digit resource part of an error code."""

    GENERAL = 500000
    REQUEST = 500001
    AUTH = 500002
    TENANT = 500003
    ACCOUNT = 500010
    CONTACT = 500011
    PRODUCT = 500012
    PRODUCT_RATE_PLAN = 500013
    PRODUCT_RATE_PLAN_CHARGE = 500014
    SUBSCRIPTION = 500015
    ORDER = 500016
    INVOICE = 500017
    CRUD = 500020
    QUERY = 500021
    ASYNC_REQUEST = 500030
    ASYNC_JOB = 500031
    NOTIFICATION_DEFINITION = 500040
    COMMUNICATION_PROFILE = 500041
    CALLOUT_SETTINGS = 500042
    CALLOUT_HISTORY = 500043
    # Not a resource: Zuora's codes of authentication failures begin with 9 (its guide "Error
    # codes": 90000011, an invalid credential in the request header).
    AUTHENTICATION = 900000


CRUD_CODES: dict[Category, str] = {
    Category.PERMISSION_DENIED: "NO_PERMISSION",
    Category.AUTHENTICATION_FAILED: "INVALID_SESSION",
    Category.INVALID_VALUE: "INVALID_VALUE",
    Category.UNKNOWN_FIELD: "INVALID_FIELD",
    Category.MISSING_FIELD: "MISSING_REQUIRED_VALUE",
    Category.MISSING_PARAMETER: "MISSING_REQUIRED_VALUE",
    Category.BUSINESS_RULE: "INVALID_VALUE",
    Category.NOT_FOUND: "INVALID_ID",
    Category.UNSUPPORTED_METHOD: "INVALID_TYPE",
    Category.LOCKING_CONTENTION: "LOCK_COMPETITION",
    Category.INTERNAL_ERROR: "UNKNOWN_ERROR",
    Category.TEMPORARY_ERROR: "TEMPORARY_ERROR",
    Category.LIMIT_EXCEEDED: "REQUEST_EXCEEDED_RATE",
    Category.MALFORMED_JSON: "INVALID_VALUE",
    Category.INTEGRATION_ERROR: "UNKNOWN_ERROR",
}


class Reason:
    __slots__ = ("category", "crud_code", "message", "resource")

    def __init__(
        self,
        category: Category,
        message: str,
        resource: Resource = Resource.GENERAL,
        crud_code: str | None = None,
    ) -> None:
        self.category = category
        self.message = message
        self.resource = resource
        self.crud_code = crud_code or CRUD_CODES[category]

    @property
    def code(self) -> int:
        return self.resource * 100 + self.category


class ZuoraError(Exception):
    """An error the API reports to its caller. Subclasses fix the category and HTTP status.

    ``keeps_status``: Zuora answers it before any endpoint runs (an unknown path, a bad
    ``Zuora-Track-Id``), so its status stands even where endpoints answer failures with 200
    (see :func:`answered_status`)."""

    category: Category = Category.INTERNAL_ERROR
    status: int = 500
    keeps_status: bool = False

    def __init__(
        self,
        message: str,
        *,
        resource: Resource = Resource.GENERAL,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        crud_code: str | None = None,
        reasons: list[Reason] | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.reasons = reasons or [Reason(self.category, message, resource, crud_code)]


class PermissionDenied(ZuoraError):
    category = Category.PERMISSION_DENIED
    status = 403


class AuthenticationFailed(ZuoraError):
    category = Category.AUTHENTICATION_FAILED
    status = 401

    def __init__(
        self, message: str = "Authentication error", *, resource: Resource = Resource.AUTHENTICATION
    ) -> None:
        super().__init__(message, resource=resource, headers={"WWW-Authenticate": "Bearer"})


class InvalidValue(ZuoraError):
    category = Category.INVALID_VALUE
    status = 400


class UnknownField(ZuoraError):
    category = Category.UNKNOWN_FIELD
    status = 400


class MissingField(ZuoraError):
    category = Category.MISSING_FIELD
    status = 400


class MissingParameter(ZuoraError):
    category = Category.MISSING_PARAMETER
    status = 400


class BusinessRuleViolated(ZuoraError):
    category = Category.BUSINESS_RULE
    status = 400


class NotFound(ZuoraError):
    category = Category.NOT_FOUND
    status = 404


class UnknownPath(NotFound):
    """No route matches the path."""

    keeps_status = True


class InvalidTrackId(InvalidValue):
    keeps_status = True


class UnsupportedMethod(ZuoraError):
    category = Category.UNSUPPORTED_METHOD
    status = 405


class PayloadTooLarge(InvalidValue):
    """A body over the size limit. Category 20, not 70: resending it can never succeed."""

    status = 413


class UnsupportedMediaType(InvalidValue):
    status = 415


class LockingContention(ZuoraError):
    category = Category.LOCKING_CONTENTION
    status = 409


class InternalError(ZuoraError):
    category = Category.INTERNAL_ERROR
    status = 500


class TemporaryError(ZuoraError):
    category = Category.TEMPORARY_ERROR
    status = 503


class GatewayTimeout(TemporaryError):
    """A synchronous request ran past its time limit; its effects were rolled back."""

    status = 504


class LimitExceeded(ZuoraError):
    category = Category.LIMIT_EXCEEDED
    status = 429


class MalformedJson(ZuoraError):
    category = Category.MALFORMED_JSON
    status = 400


class RequestInvalid(ZuoraError):
    """Several reasons at once (a body with many bad fields); status from the first."""

    def __init__(self, reasons: list[Reason]) -> None:
        first = reasons[0]
        self.category = first.category
        status = 400 if first.category != Category.PERMISSION_DENIED else 403
        super().__init__(first.message, status=status, reasons=reasons)


OBJECT_PREFIXES = ("/v1/object/", "/v1/async/object/")
ACTION_PREFIX = "/v1/action/"
NOTIFICATIONS_PREFIX = "/notifications/"
# The /v1 paths whose failures keep their statuses, as the SDK reads them: CRUD and Actions;
# Zuora's notification service; the async twins, whose accepts the SDK reads only as 202 or
# an error; and a product of the catalog, whose answer (``GetProductResponse``) has no
# ``success`` to say that it failed.
KEEPS_STATUSES_PREFIXES = (
    *OBJECT_PREFIXES,
    ACTION_PREFIX,
    "/v1/notification-history/",
    "/v1/async/",
    "/v1/catalog/product/",
)
# What Zuora's v1 REST endpoints answer as HTTP 200 with ``"success": false`` (its guides
# "Responses and errors" and "Error handling": "HTTP 200 doesn't mean your call succeeded").
# 401, 403, 413, 415, 429 and 5xx keep their statuses there too.
STATUSES_ANSWERED_AS_200 = frozenset({400, 404, 409})


def answered_status(error: ZuoraError, path: str, error_statuses: str) -> int:
    """The HTTP status of ``error`` on ``path``: with ``error_statuses`` ``"zuora"`` (the
    default), 200 where Zuora's v1 REST endpoints answer so; ``"http"``, always its own."""
    if (
        error_statuses == "zuora"
        and error.status in STATUSES_ANSWERED_AS_200
        and not error.keeps_status
        and path.startswith("/v1/")
        and not path.startswith(KEEPS_STATUSES_PREFIXES)
    ):
        return 200
    return error.status


# Zuora's guide "Error codes": resource codes come from the request's payload, so a GET or
# DELETE that fails names the generic resource, 500000; its category still says what failed.
BODILESS_METHODS = frozenset({"GET", "DELETE"})


def error_body(error: ZuoraError, process_id: str, method: str, path: str) -> dict:
    """The error in the envelope of the API family ``path`` belongs to.

    REST: ``{"success": false, "processId", "reasons": [{"code", "message"}]}``; CRUD objects:
    ``{"Success": false, "Errors": [{"Code", "Message"}]}``; Actions (a whole request refused):
    ``{"FaultCode", "FaultMessage"}``. Zuora's gateway answers 401s as ``{"message"}``, which
    clients read, so authentication failures carry that field in every family.

    Under ``/notifications/`` the REST envelope also carries a top-level ``code`` (the first
    reason's) and ``message`` (every reason's): Zuora documents those endpoints' 400 and 403
    answers as ``{"code", "message"}`` and their other errors as ``{"reasons"}``, so one body
    fits every shape their clients read.
    """
    if path.startswith(ACTION_PREFIX):
        body: dict = {
            "FaultCode": error.reasons[0].crud_code,
            "FaultMessage": _joined_messages(error),
        }
    elif path.startswith(OBJECT_PREFIXES):
        body = {
            "Success": False,
            "Errors": [{"Code": r.crud_code, "Message": r.message} for r in error.reasons],
        }
    else:
        generic = method in BODILESS_METHODS and path.startswith("/v1/")
        body = {
            "success": False,
            "processId": process_id,
            "reasons": [
                {"code": _generic_code(r) if generic else r.code, "message": r.message}
                for r in error.reasons
            ],
        }
        if path.startswith(NOTIFICATIONS_PREFIX):
            body["code"] = error.reasons[0].code
            body["message"] = _joined_messages(error)
    if error.category == Category.AUTHENTICATION_FAILED:
        body["message"] = str(error)
    return body


def _generic_code(reason: Reason) -> int:
    if reason.resource == Resource.AUTHENTICATION:
        return reason.code
    return Resource.GENERAL * 100 + reason.category


def _joined_messages(error: ZuoraError) -> str:
    return "; ".join(reason.message for reason in error.reasons)


def error_response(
    error: ZuoraError, process_id: str, method: str, path: str, error_statuses: str
) -> Response:
    return Response(
        orjson.dumps(error_body(error, process_id, method, path)),
        status_code=answered_status(error, path, error_statuses),
        headers=error.headers,
        media_type="application/json",
    )
