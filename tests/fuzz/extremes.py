"""Hypothesis strategies of the values at the ends of what a type allows: integers past 32 and
64 bits, the calendar's first and last days, text holding NUL, long text, text of other
scripts and directions, numbers at a double's limits, amounts past a Decimal's.

``of_type(annotation, known, mix)`` gives values of a Python type annotation (a pydantic
model's field, a route's parameter): ordinary ones (the values a test knows to be real, small
numbers, dates of these years), extreme ones, or a mix. ``mutated(example)`` gives a JSON
value a route took with an extreme value or two in place of its own.
"""

from __future__ import annotations

import enum
import json
import operator
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

EDGE_INTEGERS = [
    0,
    -1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**20,
    10**300,
]
EDGE_FLOATS = [0.0, -0.0, 0.1, 1e308, -1e308, 1.7976931348623157e308, 5e-324, 1e-300]
# Amounts are read from JSON numbers or text: text reaches Decimal's own limits.
EDGE_DECIMAL_TEXTS = [
    "1E+999999999",
    "1e-999999999",
    "123456789012345678901234567890.123456789",
    "999999.999999999",
    "0.0000000001",
    "-0",
    "NaN",
    "Infinity",
    "sNaN",
]
EDGE_DATES = [
    "0001-01-01",
    "0001-01-02",
    "9999-12-01",
    "9999-12-31",
    "0000-01-01",
    "10000-01-01",
    "2024-02-29",
    "2023-02-29",
    "1970-01-01",
]
EDGE_DATETIMES = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999Z",
    "2024-01-01T24:00:00",
    "1970-01-01T00:00:00Z",
]
EDGE_TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil",
    "\ufeff",
    "a\u0301",
    "-1",
    "../../etc/passwd",
    "' OR 1=1 --",
    "%00",
    "\\",
    "\r\n",
]
# Long text: past the columns' lengths (64, 100, 255, 1000) and what a request line carries.
LONG_TEXT_UNITS = ["x", "9", "\u00e9", "\U0001f600", "a\u0301"]
LONG_TEXT_LENGTHS = [65, 101, 256, 400, 1001, 65536]
LONGEST_URL_TEXT = 20_000
"""What a request line can carry (httpx refuses a URL part over 64 KiB)."""

integers = st.sampled_from(EDGE_INTEGERS)
floats = st.sampled_from(EDGE_FLOATS) | st.floats(allow_nan=False, allow_infinity=False)
decimal_texts = st.sampled_from(EDGE_DECIMAL_TEXTS)
long_texts = st.builds(
    operator.mul, st.sampled_from(LONG_TEXT_UNITS), st.sampled_from(LONG_TEXT_LENGTHS)
)
texts = st.sampled_from(EDGE_TEXTS) | long_texts | st.text(max_size=300)
dates = st.sampled_from(EDGE_DATES) | st.dates().map(date.isoformat)
datetimes = st.sampled_from(EDGE_DATETIMES) | st.datetimes().map(datetime.isoformat)
json_scalars = st.none() | st.booleans() | integers | floats | texts
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@dataclass(frozen=True)
class Known:
    """What a test knows to be real: ``values`` (the text its objects hold: IDs, numbers,
    currencies, names) are the ordinary values of text, ``names`` (field names) the keys of
    free-form objects, so that requests reach existing objects and fields."""

    values: st.SearchStrategy[str]
    names: st.SearchStrategy[str]


class Mix(enum.Enum):
    """How many of a scalar's values are ordinary and how many extreme. Ordinary values pass
    validation and reach the code behind it; so a few extreme ones at a time meet that code,
    rather than the first check that refuses them all."""

    ORDINARY = 1, 0
    MIXED = 3, 1
    EXTREME = 0, 1


def of_type(annotation: Any, known: Known, mix: Mix) -> st.SearchStrategy[Any]:
    """Values of ``annotation``'s type (any JSON value where the type is ``Any``), each scalar
    ordinary or extreme as ``mix`` says."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return of_type(arguments[0], known, mix)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([of_type(member, known, mix) for member in arguments])
    if origin is typing.Literal:
        return st.sampled_from(arguments)
    if origin in (list, tuple, set, frozenset):
        return st.lists(of_type(arguments[0], known, mix), min_size=1, max_size=3)
    if origin is dict:
        return st.dictionaries(known.names, of_type(arguments[1], known, mix), max_size=4)
    if annotation is type(None):
        return st.none()
    if not isinstance(annotation, type) or annotation is object:
        return json_values
    if issubclass(annotation, BaseModel):
        return model_bodies(annotation, known, mix)
    if issubclass(annotation, enum.Enum):
        return st.sampled_from([member.value for member in annotation])
    ordinary, extreme = _scalars(annotation, known)
    shares = [ordinary] * mix.value[0] + [extreme] * mix.value[1]
    return st.sampled_from(shares).flatmap(lambda values: values)


def _scalars(cls: type, known: Known) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """Ordinary and extreme values of a scalar type."""
    if issubclass(cls, bool):
        return st.booleans(), st.booleans()
    if issubclass(cls, int):
        return st.integers(1, 12), integers
    if issubclass(cls, float):
        return st.integers(1, 100), floats
    if issubclass(cls, Decimal):
        return st.sampled_from([1, 10, 9.99, "100"]), floats | integers | decimal_texts
    if issubclass(cls, datetime):
        return st.just("2024-01-01T00:00:00Z"), datetimes
    if issubclass(cls, date):
        return st.dates(date(2024, 1, 1), date(2026, 12, 31)).map(date.isoformat), dates
    if issubclass(cls, str):
        return known.values, texts
    return json_values, json_values


def model_bodies(
    model: type[BaseModel], known: Known, mix: Mix
) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects of ``model``'s fields by their aliases: the required ones always, the
    others at random, and custom fields (``*__c``) where the model keeps extra fields."""
    required, optional = {}, {}
    for name, field in model.model_fields.items():
        target = required if field.is_required() else optional
        target[field.alias or name] = st.deferred(
            lambda field=field: of_type(field.annotation, known, mix)
        )
    body = st.fixed_dictionaries(required, optional=optional)
    if model.model_config.get("extra") != "allow":
        return body
    custom = st.dictionaries(custom_field_names, json_scalars, max_size=2)
    return st.builds(lambda fields, extra: {**extra, **fields}, body, custom)


custom_field_names = st.sampled_from(
    ["Region__c", "A" * 61 + "__c", "A" * 62 + "__c", "1st__c"]
) | st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}__c", fullmatch=True)


def url_values(annotation: Any, known: Known, mix: Mix) -> st.SearchStrategy[str]:
    """Values for a path or query parameter of type ``annotation``, as a URL writes them."""
    values = of_type(annotation, known, mix).map(_in_url)
    return values.filter(lambda text: len(text) <= LONGEST_URL_TEXT)


def _in_url(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def mutated(example: Any) -> st.SearchStrategy[Any]:
    """``example`` (a JSON value that a route took) with one or two of its scalars replaced by
    extreme values of the same JSON type: what reaches furthest into the code behind it."""
    leaves = list(_leaves(example, ()))
    if not leaves:
        return st.just(example)
    replacement = st.sampled_from(leaves).flatmap(
        lambda leaf: _extreme_like(leaf[1]).map(lambda value: (leaf[0], value))
    )
    return st.lists(replacement, min_size=1, max_size=2).map(
        lambda replacements: _replaced(example, dict(replacements))
    )


Path = tuple[str | int, ...]


def _leaves(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _extreme_like(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return integers
    if isinstance(value, float):
        return floats
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return dates
    if isinstance(value, str) and _ISO_DATE.match(value):
        return datetimes
    if isinstance(value, str):
        return texts
    return json_scalars


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _replaced(value: Any, replacements: dict[Path, Any], path: Path = ()) -> Any:
    if path in replacements:
        return replacements[path]
    if isinstance(value, dict):
        return {key: _replaced(item, replacements, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, replacements, (*path, index)) for index, item in enumerate(value)]
    return value
