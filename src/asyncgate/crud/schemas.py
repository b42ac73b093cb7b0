"""Request and answer shapes of the CRUD and Actions endpoints, with Zuora's JSON names.

CRUD bodies and Actions ``objects`` are free-form PascalCase maps: the object registry, not a
schema, knows their fields. Note Zuora's own inconsistency, kept for its clients: a save result
is PascalCase (``Success``, ``Id``, ``Errors``) while a delete result is lower-case.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from asyncgate.crud.registry import OBJECT_TYPES
from asyncgate.http.errors import ZuoraError

MAX_ACTION_OBJECTS = 50
MAX_QUERY_BATCH_SIZE = 2000


class Shape(BaseModel):
    """An answer: built by Python name, written with Zuora's names."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)


class RequestShape(BaseModel):
    """A request body: Zuora's names only, as Zuora accepts them."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


class ActionError(Shape):
    code: str = Field(alias="Code")
    message: str = Field(alias="Message")

    @classmethod
    def all_of(cls, error: ZuoraError) -> list[ActionError]:
        return [cls(code=reason.crud_code, message=reason.message) for reason in error.reasons]


class SaveResult(Shape):
    """One object of a create or update; also the answer of CRUD ``POST`` and ``PUT``."""

    success: bool = Field(alias="Success")
    id: str | None = Field(None, alias="Id")
    errors: list[ActionError] | None = Field(None, alias="Errors")


class DeleteResult(Shape):
    """One object of a delete; also the answer of CRUD ``DELETE``."""

    success: bool
    id: str
    errors: list[ActionError] | None = None


# Stated for the document; the registry and the service check them, with Zuora's codes.
_TYPE_NAMES: JsonDict = {"enum": [object_type.name for object_type in OBJECT_TYPES]}
_AT_MOST_AN_ACTIONS_OBJECTS: JsonDict = {"maxItems": MAX_ACTION_OBJECTS}


class ActionSave(RequestShape):
    """``/v1/action/create`` and ``/v1/action/update``: objects of one type."""

    type: str = Field(json_schema_extra=_TYPE_NAMES, description="In any letter case")
    objects: list[dict[str, Any]] = Field(json_schema_extra=_AT_MOST_AN_ACTIONS_OBJECTS)


class ActionDelete(RequestShape):
    type: str = Field(json_schema_extra=_TYPE_NAMES, description="In any letter case")
    ids: list[str] = Field(json_schema_extra=_AT_MOST_AN_ACTIONS_OBJECTS)


class QueryConf(RequestShape):
    batch_size: int | None = Field(
        None,
        ge=1,
        alias="batchSize",
        description=f"Records per answer, at most {MAX_QUERY_BATCH_SIZE}.",
    )


class ActionQuery(RequestShape):
    query_string: str = Field(alias="queryString")
    conf: QueryConf | None = None


class ActionQueryMore(RequestShape):
    query_locator: str = Field(alias="queryLocator")
    conf: QueryConf | None = None


class QueryResult(Shape):
    """``queryLocator`` is present, and ``done`` false, while more records remain."""

    done: bool
    size: int
    records: list[dict[str, Any]]
    query_locator: str | None = Field(None, alias="queryLocator")
