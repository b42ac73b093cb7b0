"""Request validation failures, translated into Zuora's categories.

Malformed JSON is category 90, an unknown field 21, a missing required field 22, a missing
query or header parameter 23, and any other bad value 20.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from asyncgate.http.errors import Category, Reason, RequestInvalid

# Zuora's integer parameters are 32-bit; paging beyond it is refused, as it would otherwise
# ask the database for an offset past what it can count.
MAX_INT32 = 2**31 - 1


class NullRefusing(BaseModel):
    """A request body whose fields named in ``not_nullable`` may be left out but not sent as
    ``null`` (category 20, "may not be null")."""

    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.not_nullable:
            raise PydanticCustomError("not_nullable", "may not be null")
        return value


def _field_name(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location[1:]] if location else []
    return ".".join(parts)


def _joined(*parts: str | None) -> str:
    return ".".join(part for part in parts if part)


def _reason(error: dict[str, Any]) -> Reason:
    kind = error.get("type", "")
    location = error.get("loc", ())
    source = location[0] if location else "body"
    field = _field_name(location)
    if kind == "json_invalid":
        detail = error.get("ctx", {}).get("error", "")
        return Reason(Category.MALFORMED_JSON, f"Malformed JSON in the request body: {detail}")
    if kind == "extra_forbidden":
        # Models that admit custom fields refuse the others themselves and name them in ctx.
        extra = error.get("ctx", {}).get("field")
        return Reason(Category.UNKNOWN_FIELD, f"Unknown field: {_joined(field, extra)}")
    if kind == "missing":
        if "ctx" in error:
            # A model's own rule naming what it misses, such as one of two fields.
            where = f" in {field}" if field else ""
            return Reason(Category.MISSING_FIELD, f"Missing required field{where}: {error['msg']}")
        if source == "body":
            message = (
                f"Missing required field: {field}" if field else "The request body is required"
            )
            return Reason(Category.MISSING_FIELD, message)
        return Reason(Category.MISSING_PARAMETER, f"Missing required {source} parameter: {field}")
    subject = f"field {field}" if source == "body" else f"{source} parameter {field}"
    if not field:
        subject = "the request body"
    return Reason(Category.INVALID_VALUE, f"Invalid value for {subject}: {error.get('msg', '')}")


def validation_error(errors: Sequence[dict[str, Any]]) -> RequestInvalid:
    reasons = [_reason(error) for error in errors]
    # Malformed JSON makes any other complaint meaningless.
    malformed = [r for r in reasons if r.category == Category.MALFORMED_JSON]
    return RequestInvalid(malformed[:1] or reasons)
