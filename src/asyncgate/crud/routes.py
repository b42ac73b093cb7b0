"""``/v1/object/{type}``: Zuora's CRUD endpoints for every registered object type."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.crud import registry, service
from asyncgate.crud.schemas import DeleteResult, SaveResult
from asyncgate.http.routing import Session, UnitOfWorkRoute, declare_resource

router = APIRouter(route_class=UnitOfWorkRoute, tags=["CRUD"])

# Documented as the registry reads it (in any letter case; another is a 404).
ObjectTypePath = Annotated[
    str, Path(json_schema_extra={"enum": [kind.path for kind in registry.OBJECT_TYPES]})
]


@router.post("/object/{object_type}", response_model_exclude_none=True)
async def create_object(
    request: Request,
    object_type: ObjectTypePath,
    body: dict[str, Any],
    session: Session,
    principal: CurrentPrincipal,
) -> SaveResult:
    kind = registry.by_path(object_type)
    created = await service.create(session, principal.tenant_id, kind, body)
    declare_resource(request, created)
    return SaveResult(success=True, id=created)


@router.get("/object/{object_type}/{object_id}")
async def get_object(
    object_type: ObjectTypePath,
    object_id: str,
    session: Session,
    principal: CurrentPrincipal,
    fields: str | None = None,
) -> dict[str, Any]:
    """The object's fields (``fields``: a comma-separated selection); null fields are left out."""
    kind = registry.by_path(object_type)
    row = await service.find(session, principal.tenant_id, kind, object_id)
    return kind.record(row, service.selected_fields(kind, fields))


@router.put("/object/{object_type}/{object_id}", response_model_exclude_none=True)
async def update_object(
    request: Request,
    object_type: ObjectTypePath,
    object_id: str,
    body: dict[str, Any],
    session: Session,
    principal: CurrentPrincipal,
) -> SaveResult:
    kind = registry.by_path(object_type)
    updated = await service.update(session, principal.tenant_id, kind, object_id, body)
    declare_resource(request, updated)
    return SaveResult(success=True, id=updated)


@router.delete("/object/{object_type}/{object_id}", response_model_exclude_none=True)
async def delete_object(
    request: Request,
    object_type: ObjectTypePath,
    object_id: str,
    session: Session,
    principal: CurrentPrincipal,
) -> DeleteResult:
    kind = registry.by_path(object_type)
    deleted = await service.delete(session, principal.tenant_id, kind, object_id)
    declare_resource(request, deleted)
    return DeleteResult(success=True, id=deleted)
