"""Request validation failures, translated into Zuora's categories.

Malformed JSON is category 90, an unknown field 21, a missing required field 22, a missing
query or header parameter 23, and any other bad value 20.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from asyncgate.http.errors import Category, Reason, RequestInvalid

# Zuora's integer parameters are 32-bit; paging beyond it is refused, as it would otherwise
# ask the database for an offset past what it can count.
MAX_INT32 = 2**31 - 1
# An amount sent as a string reads as a JSON number would: ``Decimal`` alone would also take
# ``"5_000"``, ``" 5 "`` or ``"NaN"``.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class NullRefusing(BaseModel):
    """A request body whose fields named in ``not_nullable`` may be left out but not sent as
    ``null`` (category 20, "may not be null"); its JSON schema says so."""

    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.not_nullable:
            raise PydanticCustomError("not_nullable", "may not be null")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The fields' schemas, without the ``null`` their ``X | None`` type would allow."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        properties = schema.get("properties", {})
        for name, field in cls.model_fields.items():
            if name in cls.not_nullable:
                for key in {name, field.alias}:
                    if key in properties:
                        properties[key] = _not_null(properties[key])
        return schema


class JsonScalars(BaseModel):
    """A request body whose scalar fields take only the JSON type their schema states, where
    pydantic's lax reading would take others: a boolean is ``true`` or ``false`` (not ``0`` or
    ``"yes"``), a number is no boolean and an integer no string (amounts may be strings of a
    number, as their schema says), a date is a string (not a timestamp). Category 20
    otherwise."""

    @field_validator("*", mode="before")
    @classmethod
    def _json_typed(cls, value: Any, info: ValidationInfo) -> Any:
        scalar = _json_scalar(cls, info.field_name or "")
        if scalar is None or value is None:
            return value
        kind, accepted = scalar
        if (
            not isinstance(value, accepted)
            or (isinstance(value, bool) and bool not in accepted)
            or (isinstance(value, str) and kind == "a number" and not _NUMBER_TEXT.fullmatch(value))
        ):
            raise PydanticCustomError("json_type", "must be {kind}", {"kind": kind})
        return value


# A field's type, what its JSON schema calls it, and the values it reads: JSON's (bool, int,
# float, str) and the Python values internal callers hold.
_JSON_SCALARS: dict[Any, tuple[str, tuple[type, ...]]] = {
    bool: ("a boolean", (bool,)),
    int: ("an integer", (int, float)),
    float: ("a number", (int, float)),
    Decimal: ("a number", (int, float, str, Decimal)),
    date: ("a date (yyyy-MM-dd)", (str, date)),
    datetime: ("a date and time", (str, datetime)),
}


@cache
def _json_scalar(model: type[BaseModel], name: str) -> tuple[str, tuple[type, ...]] | None:
    field = model.model_fields.get(name)
    return _JSON_SCALARS.get(_scalar_type(field.annotation)) if field else None


def _scalar_type(annotation: Any) -> Any:
    """``int`` for ``int``, ``int | None`` or ``Annotated[int, ...]``; None for other shapes."""
    if get_origin(annotation) is Annotated:
        return _scalar_type(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        members = [member for member in get_args(annotation) if member is not NoneType]
        return _scalar_type(members[0]) if len(members) == 1 else None
    return annotation if isinstance(annotation, type) else None


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if not options:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if rest.get("default", ...) is None:
        del rest["default"]
    return rest | options[0] if len(options) == 1 else rest | {"anyOf": options}


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
