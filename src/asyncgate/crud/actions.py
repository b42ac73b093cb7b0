"""``/v1/action/*``: Zuora's batch create, update and delete (one result per object, each object
on its own) and the ZOQL query with its ``queryMore`` paging. Actions are synchronous only."""

from __future__ import annotations

from fastapi import APIRouter

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.crud import query, registry, service
from asyncgate.crud.schemas import (
    ActionDelete,
    ActionQuery,
    ActionQueryMore,
    ActionSave,
    DeleteResult,
    QueryResult,
    SaveResult,
)
from asyncgate.http.routing import Session, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Actions"])


@router.post("/action/create", response_model_exclude_none=True)
async def create(
    body: ActionSave, session: Session, principal: CurrentPrincipal
) -> list[SaveResult]:
    object_type = registry.by_name(body.type)
    return await service.create_each(session, principal.tenant_id, object_type, body.objects)


@router.post("/action/update", response_model_exclude_none=True)
async def update(
    body: ActionSave, session: Session, principal: CurrentPrincipal
) -> list[SaveResult]:
    object_type = registry.by_name(body.type)
    return await service.update_each(session, principal.tenant_id, object_type, body.objects)


@router.post("/action/delete", response_model_exclude_none=True)
async def delete(
    body: ActionDelete, session: Session, principal: CurrentPrincipal
) -> list[DeleteResult]:
    object_type = registry.by_name(body.type)
    return await service.delete_each(session, principal.tenant_id, object_type, body.ids)


@router.post("/action/query", response_model_exclude_none=True)
async def run_query(
    body: ActionQuery, session: Session, principal: CurrentPrincipal
) -> QueryResult:
    batch_size = body.conf.batch_size if body.conf else None
    return await query.run(session, principal.tenant_id, body.query_string, batch_size)


@router.post("/action/queryMore", response_model_exclude_none=True)
async def run_query_more(
    body: ActionQueryMore, session: Session, principal: CurrentPrincipal
) -> QueryResult:
    batch_size = body.conf.batch_size if body.conf else None
    return await query.run_more(session, principal.tenant_id, body.query_locator, batch_size)
