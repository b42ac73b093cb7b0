"""Bases every billing object's shapes build on: request bodies that take Zuora's names only
(plus tenant custom fields), answers built by Python name but written with Zuora's names, and
the value types several objects share (currencies, amounts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from asyncgate.billing.invoices.money import CURRENCY_CODES
from asyncgate.http.validation import JsonScalars, NullRefusing

CUSTOM_FIELD_SUFFIX = "__c"
# Zuora's custom fields: an API name of letters, digits and underscores that starts with a
# letter and ends with ``__c``; a scalar value (text, a number, a boolean or a date as text);
# at most 100 of them on an object. asyncgate keeps no definitions of them, so it bounds what
# any definition could take: names of 64 characters, text of 255, integers of 64 bits.
CUSTOM_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,60}__c")
MAX_CUSTOM_FIELDS = 100
MAX_CUSTOM_TEXT = 255
_INT64 = range(-(2**63), 2**63)
CUSTOM_VALUE_SCHEMA: JsonSchemaValue = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_CUSTOM_TEXT},
        {"type": "integer", "minimum": _INT64.start, "maximum": _INT64.stop - 1},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
}


def is_custom_field_name(name: str) -> bool:
    return CUSTOM_FIELD_NAME.fullmatch(name) is not None


def check_custom_values(fields: Mapping[str, Any]) -> None:
    """Refuses custom fields that no Zuora custom field could hold: too many, or a value that is
    not a scalar within bounds."""
    if len(fields) > MAX_CUSTOM_FIELDS:
        raise PydanticCustomError(
            "custom_fields",
            "an object has at most {most} custom fields",
            {"most": MAX_CUSTOM_FIELDS},
        )
    for name, value in fields.items():
        if not _custom_value(value):
            raise PydanticCustomError(
                "custom_field",
                "custom field {name} takes text of at most {most} characters, a number, a "
                "boolean or null",
                {"name": name, "most": MAX_CUSTOM_TEXT},
            )


def _custom_value(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_CUSTOM_TEXT
    if isinstance(value, int):  # booleans too
        return value in _INT64
    return value is None or isinstance(value, float)


def _currency_code(value: str) -> str:
    if value not in CURRENCY_CODES:
        raise PydanticCustomError(
            "currency", "a currency is an ISO 4217 code in capitals, such as USD"
        )
    return value


Currency = Annotated[
    str, AfterValidator(_currency_code), Field(json_schema_extra={"enum": sorted(CURRENCY_CODES)})
]
# Amounts are exact Decimals everywhere but in JSON, where Zuora writes them as numbers.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=str, when_used="json")]
"""A moment written in UTC with ``Z``, to the second."""


def plain_amount(amount: Decimal) -> str:
    """``60`` for 60.000000000 and ``9.99`` for 9.990000000, as Zuora writes pricing summaries."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def stored_values(
    schema: type[BaseModel], row: object, *, exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The attributes of ``row`` named like the fields of an answer ``schema``."""
    return {name: getattr(row, name) for name in schema.model_fields if name not in exclude}


class ZuoraInput(NullRefusing, JsonScalars):
    """A request body: declared fields by their Zuora names only, plus tenant custom fields.

    As in Zuora, a Python spelling (``bill_cycle_day`` for ``billCycleDay``) is an unknown
    field. Internal callers that hold values by Python name validate with ``by_name=True``.
    Custom fields (``<name>__c``, see :data:`CUSTOM_FIELD_NAME`) are kept as extras, bounded by
    :func:`check_custom_values`; any other undeclared field is refused with pydantic's
    ``extra_forbidden``, which the API reports as an unknown field. Fields named
    in ``not_nullable`` may be left out but not sent as ``null``.
    """

    model_config = ConfigDict(extra="allow", validate_by_alias=True, validate_by_name=False)

    @model_validator(mode="after")
    def _only_custom_extras(self) -> ZuoraInput:
        for name in self.model_extra or {}:
            if not is_custom_field_name(name):
                raise PydanticCustomError(
                    "extra_forbidden", "Unknown field: {field}", {"field": name}
                )
        check_custom_values(self.model_extra or {})
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The declared fields, and custom fields besides: no other."""
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        schema["patternProperties"] = {f"^{CUSTOM_FIELD_NAME.pattern}$": CUSTOM_VALUE_SCHEMA}
        schema["additionalProperties"] = False
        return schema

    @property
    def custom_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def given_values(self, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The declared fields the caller sent (a partial update touches only these)."""
        declared = type(self).model_fields
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name in declared and name not in exclude
        }


class ZuoraOutput(BaseModel):
    """A response shape, or a part of one (``ZuoraInput``'s counterpart): built by Python name,
    written with Zuora's names, extras (custom fields) kept."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, serialize_by_alias=True)


class CommonResponse(ZuoraOutput):
    """A response body with Zuora's ``success`` field."""

    success: bool = True


class Paged(CommonResponse):
    """A page of a list; ``nextPage`` is written only when another page follows."""

    next_page: str | None = Field(None, alias="nextPage", exclude_if=lambda url: url is None)
