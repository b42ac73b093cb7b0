"""Checking raw JSON against the Zuora SDK's response models.

The SDK's models accept anything (unknown keys land in ``additional_properties``, wrong types
pass), so a successful SDK call proves nothing about the shape of an answer. These helpers read
the models' declared JSON names and annotations and check a raw body against them: every key
is one the model declares (or a tenant's ``__c`` custom field), and every value has the JSON
type the annotation asks for, recursively through nested models and lists.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

ZUORA_ID = re.compile(r"^[0-9a-f]{32}$")
"""The IDs of Zuora objects: 32 lower-case hex characters."""
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SKIPPED_FIELDS = frozenset({"additional_properties"})


def declared_keys(model: type[BaseModel]) -> list[str]:
    """The JSON names the SDK model declares (its private ``__properties`` list)."""
    return list(getattr(model, f"_{model.__name__}__properties"))


def _declared_types(model: type[BaseModel]) -> dict[str, Any]:
    return {
        field.alias or name: field.annotation
        for name, field in model.model_fields.items()
        if name not in SKIPPED_FIELDS
    }


SCALAR_RULES: dict[type, Callable[[Any], bool]] = {
    bool: lambda value: isinstance(value, bool),
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    float: lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    Decimal: lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    str: lambda value: isinstance(value, str),
    date: lambda value: isinstance(value, str) and bool(DATE.match(value)),
    datetime: lambda value: isinstance(value, str) and bool(UTC_TIME.match(value)),
}


def shape_problems(value: Any, annotation: Any, path: str) -> list[str]:
    """Every way ``value`` (parsed JSON) departs from ``annotation`` (an SDK field type)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return shape_problems(value, typing.get_args(annotation)[0], path)
    if origin in (typing.Union, types.UnionType):
        return _union_problems(value, typing.get_args(annotation), path)
    if value is None:
        return [f"{path}: null where {annotation} is declared"]
    if annotation is Any:
        return []
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a JSON array, got {value!r}"]
        (item_type,) = typing.get_args(annotation)
        return [
            problem
            for index, item in enumerate(value)
            for problem in shape_problems(item, item_type, f"{path}[{index}]")
        ]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{path}: expected a JSON object, got {value!r}"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            return [f"{path}: expected a JSON object ({annotation.__name__}), got {value!r}"]
        return model_problems(value, annotation, path)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        allowed = [member.value for member in annotation]
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
    if annotation not in SCALAR_RULES:
        raise TypeError(f"{path}: no JSON rule for the SDK type {annotation!r}")
    if SCALAR_RULES[annotation](value):
        return []
    return [f"{path}: {value!r} does not match the declared {annotation.__name__}"]


def _union_problems(value: Any, options: tuple[Any, ...], path: str) -> list[str]:
    """Fits if any option fits; otherwise the problems of the closest option."""
    if value is None:
        return [] if type(None) in options else [f"{path}: null is not allowed"]
    attempts = [
        shape_problems(value, option, path) for option in options if option is not type(None)
    ]
    return [] if any(not problems for problems in attempts) else min(attempts, key=len)


def model_problems(body: dict[str, Any], model: type[BaseModel], path: str = "$") -> list[str]:
    declared = _declared_types(model)
    problems = []
    for key, value in body.items():
        if key in declared:
            problems += shape_problems(value, declared[key], f"{path}.{key}")
        elif not key.endswith("__c"):
            problems.append(f"{path}.{key}: not declared by the SDK's {model.__name__}")
    return problems


def assert_shape(
    body: Any,
    model: type[BaseModel],
    required: Iterable[str] = (),
    *,
    numbers: Iterable[str] = (),
) -> None:
    """Assert ``body`` fits ``model`` and holds every ``required`` key.

    ``required`` names keys of the body, dotted for nested objects (``"basicInfo.id"``); each
    must be declared by the SDK, so a typo in a test fails loudly too. ``numbers`` names keys,
    at any depth, where Zuora writes a JSON number though the SDK declares a string.
    """
    assert isinstance(body, dict), f"expected a JSON object, got {body!r}"
    problems = model_problems(_numbers_as_strings(body, frozenset(numbers)), model)
    for dotted in required:
        node: Any = body
        owner: type[BaseModel] | None = model
        for part in dotted.split("."):
            declared = _declared_types(owner) if owner else {}
            assert part in declared, f"{dotted}: the SDK declares no {part!r} there"
            if not isinstance(node, dict) or part not in node:
                problems.append(f"$.{dotted}: missing")
                break
            node, owner = node[part], _nested_model(declared[part])
    assert not problems, "The answer does not fit the SDK's model:\n  " + "\n  ".join(problems)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``Optional[Model]`` (or ``Annotated``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def _numbers_as_strings(value: Any, keys: frozenset[str]) -> Any:
    """``value`` with the JSON numbers at ``keys`` written as the strings the SDK declares."""
    if isinstance(value, list):
        return [_numbers_as_strings(item, keys) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: str(item)
        if key in keys and SCALAR_RULES[float](item)
        else _numbers_as_strings(item, keys)
        for key, item in value.items()
    }
