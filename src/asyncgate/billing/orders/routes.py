"""``POST /v1/orders``, ``POST /v1/orders/preview``, ``GET /v1/orders/{orderNumber}`` and
``DELETE /v1/orders/{orderNumber}``. Their asynchronous twins replay these routes, so creating
and deleting declare the order (by number) as the resource they changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.orders import service
from asyncgate.billing.orders.schemas import (
    CreateOrderResponse,
    OrderCreate,
    OrderOut,
    OrderPreview,
    OrderResponse,
    PreviewOrderResponse,
    PreviewResult,
)
from asyncgate.billing.schemas import CommonResponse
from asyncgate.db.base import utcnow
from asyncgate.http.routing import Session, UnitOfWorkRoute, declare_resource
from asyncgate.http.versions import ZuoraVersion, version_at_least

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Orders"])

SUBSCRIPTIONS_BY_STATUS_FROM = 223.0
"""From this Zuora-Version on, a created order lists ``subscriptions`` with their status
rather than ``subscriptionNumbers``."""


@router.post("/orders")
async def create_order(
    request: Request,
    body: OrderCreate,
    session: Session,
    principal: CurrentPrincipal,
    zuora_version: ZuoraVersion = None,
    return_ids: Annotated[bool, Query(alias="returnIds")] = False,
) -> CreateOrderResponse:
    placed = await service.create_order(session, principal, body, today=utcnow().date())
    declare_resource(request, placed.order.order_number)
    return CreateOrderResponse.of(
        placed,
        by_subscription=version_at_least(zuora_version, SUBSCRIPTIONS_BY_STATUS_FROM),
        return_ids=return_ids,
    )


@router.post("/orders/preview")
async def preview_order(
    body: OrderPreview, session: Session, principal: CurrentPrincipal
) -> PreviewOrderResponse:
    previewed = await service.preview_order(session, principal, body, today=utcnow().date())
    return PreviewOrderResponse(
        preview_result=PreviewResult.of(previewed, body.preview_options.preview_types)
    )


@router.get("/orders/{order_number}")
async def get_order(
    order_number: str, session: Session, principal: CurrentPrincipal
) -> OrderResponse:
    record = await service.get_order(session, principal.tenant_id, order_number)
    return OrderResponse(order=OrderOut.of(record))


@router.delete("/orders/{order_number}")
async def delete_order(
    request: Request, order_number: str, session: Session, principal: CurrentPrincipal
) -> CommonResponse:
    order = await service.delete_order(session, principal.tenant_id, order_number)
    declare_resource(request, order.order_number)
    return CommonResponse()
