"""CRUD and Actions operations on any registered object type, scoped to one tenant.

Create, update and delete go through the object's own service (see the registry); this module
maps Zuora's PascalCase bodies, names validation failures in Zuora's terms, and runs batches
with one savepoint per object so a failing object leaves the others in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.crud.registry import Access, ObjectField, ObjectType
from asyncgate.crud.schemas import MAX_ACTION_OBJECTS, ActionError, DeleteResult, SaveResult
from asyncgate.http.errors import InvalidValue, MissingField, NotFound, Resource, ZuoraError
from asyncgate.http.validation import validation_error

ID_FIELD = "id"
FIELDS_TO_NULL = "fieldsToNull"

T = TypeVar("T")


async def find(
    session: AsyncSession,
    tenant_id: str,
    object_type: ObjectType,
    object_id: str,
) -> Any:
    """The tenant's object with this ID; another tenant's is not found, like a missing one."""
    statement = select(object_type.model).where(
        object_type.tenant_column == tenant_id, object_type.id_column == object_id
    )
    row = await session.scalar(statement)
    if row is None:
        raise NotFound(
            f"No {object_type.name} has the Id {object_id}", resource=object_type.resource
        )
    return row


def selected_fields(object_type: ObjectType, names: str | None) -> list[ObjectField] | None:
    """The fields a comma-separated list names (``None``: all of them)."""
    if names is None:
        return None
    return list({object_type.field(name.strip()): None for name in names.split(",")})


async def create(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, body: dict[str, Any]
) -> str:
    values = object_type.writable_values(body, Access.CREATE)
    row = await _validating(object_type, object_type.create(session, tenant_id, values))
    return row.id


async def update(
    session: AsyncSession,
    tenant_id: str,
    object_type: ObjectType,
    object_id: str,
    body: dict[str, Any],
) -> str:
    """Changes the fields in ``body``; ``fieldsToNull`` lists fields to clear."""
    body = dict(body)
    to_null = body.pop(FIELDS_TO_NULL, None) or []
    if not isinstance(to_null, list) or not all(isinstance(name, str) for name in to_null):
        raise InvalidValue(
            f"{FIELDS_TO_NULL} must be a list of field names", resource=Resource.CRUD
        )
    values = object_type.writable_values(body, Access.UPDATE)
    for name, cleared in object_type.writable_values(dict.fromkeys(to_null), Access.UPDATE).items():
        if values.get(name) is not None:
            raise InvalidValue(
                f"{name} is both given a value and listed in {FIELDS_TO_NULL}",
                resource=Resource.CRUD,
            )
        values[name] = cleared
    row = await find(session, tenant_id, object_type, object_id)
    await _validating(object_type, object_type.update(session, tenant_id, row.id, values))
    return row.id


async def delete(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, object_id: str
) -> str:
    row = await find(session, tenant_id, object_type, object_id)
    await object_type.delete(session, tenant_id, row.id)
    return row.id


async def create_each(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, objects: list[dict[str, Any]]
) -> list[SaveResult]:
    async def create_one(body: dict[str, Any]) -> SaveResult:
        return SaveResult(success=True, id=await create(session, tenant_id, object_type, body))

    return await _each(session, objects, create_one, _save_failure)


async def update_each(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, objects: list[dict[str, Any]]
) -> list[SaveResult]:
    """Each object names the one it changes by ``Id``."""

    async def update_one(body: dict[str, Any]) -> SaveResult:
        object_id, changes = _split_id(body)
        return SaveResult(
            success=True, id=await update(session, tenant_id, object_type, object_id, changes)
        )

    return await _each(session, objects, update_one, _save_failure)


async def delete_each(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, ids: list[str]
) -> list[DeleteResult]:
    async def delete_one(object_id: str) -> DeleteResult:
        return DeleteResult(
            success=True, id=await delete(session, tenant_id, object_type, object_id)
        )

    def failure(object_id: str, error: ZuoraError) -> DeleteResult:
        return DeleteResult(success=False, id=object_id, errors=ActionError.all_of(error))

    return await _each(session, ids, delete_one, failure)


async def _each(
    session: AsyncSession,
    items: Sequence[Any],
    operation: Callable[[Any], Awaitable[T]],
    failure: Callable[[Any, ZuoraError], T],
) -> list[T]:
    """Runs ``operation`` on every item in its own savepoint: a failure undoes that item only."""
    if len(items) > MAX_ACTION_OBJECTS:
        raise InvalidValue(
            f"An action takes at most {MAX_ACTION_OBJECTS} objects, not {len(items)}",
            resource=Resource.CRUD,
            crud_code="MAX_RECORDS_EXCEEDED",
        )
    results: list[T] = []
    for item in items:
        try:
            async with session.begin_nested():
                results.append(await operation(item))
        except ZuoraError as error:
            results.append(failure(item, error))
    return results


def _save_failure(_item: Any, error: ZuoraError) -> SaveResult:
    return SaveResult(success=False, errors=ActionError.all_of(error))


def _split_id(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    keys = [key for key in body if key.lower() == ID_FIELD]
    if not keys:
        raise MissingField("Missing required field: Id", resource=Resource.CRUD)
    object_id = body[keys[0]]
    if len(keys) > 1 or not isinstance(object_id, str):
        raise InvalidValue("Id must be given once, as a string", resource=Resource.CRUD)
    return object_id, {key: value for key, value in body.items() if key != keys[0]}


async def _validating(object_type: ObjectType, operation: Awaitable[T]) -> T:
    """Awaits a service call, reporting its input-schema failures under Zuora's field names."""
    try:
        return await operation
    except ValidationError as error:
        raise validation_error(
            [
                {**detail, "loc": _zuora_location(object_type, detail["loc"])}
                for detail in error.errors()
            ]
        ) from None


def _zuora_location(object_type: ObjectType, location: tuple[Any, ...]) -> tuple[Any, ...]:
    if not location:
        return ("body",)
    field = object_type.field_of_attribute(str(location[0]))
    return ("body", field.name if field else location[0], *location[1:])
