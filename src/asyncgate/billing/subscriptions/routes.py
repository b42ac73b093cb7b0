"""``GET /v1/subscriptions/{subscription-key}`` (key = a version's ID, or the number of the
latest version) and ``GET /v1/subscriptions/accounts/{account-key}``. Subscriptions are
written through orders."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.paging import Page, PageSize, next_page
from asyncgate.billing.subscriptions import service
from asyncgate.billing.subscriptions.schemas import (
    SubscriptionOut,
    SubscriptionResponse,
    SubscriptionsPage,
)
from asyncgate.http.routing import Session, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Subscriptions"])

ACCOUNT_PAGE_SIZE = 20
# Charges are shown by their last segment, Zuora's default; other views are not supported.
ChargeDetail = Annotated[Literal["last-segment"], Query(alias="charge-detail")]


@router.get("/subscriptions/accounts/{account_key}")
async def get_account_subscriptions(
    request: Request,
    account_key: str,
    session: Session,
    principal: CurrentPrincipal,
    page: Page = 1,
    page_size: PageSize = ACCOUNT_PAGE_SIZE,
    charge_detail: ChargeDetail = "last-segment",
) -> SubscriptionsPage:
    _, subscriptions = await service.list_account_subscriptions(
        session,
        principal.tenant_id,
        account_key,
        offset=(page - 1) * page_size,
        limit=page_size + 1,  # one more tells whether there is a next page
    )
    return SubscriptionsPage(
        subscriptions=[
            SubscriptionOut.of(service.subscription_view(subscription))
            for subscription in subscriptions[:page_size]
        ],
        next_page=next_page(request, page, page_size, len(subscriptions) > page_size),
    )


@router.get("/subscriptions/{subscription_key}")
async def get_subscription(
    subscription_key: str,
    session: Session,
    principal: CurrentPrincipal,
    charge_detail: ChargeDetail = "last-segment",
) -> SubscriptionResponse:
    subscription = await service.get_subscription(session, principal.tenant_id, subscription_key)
    return SubscriptionResponse.of(service.subscription_view(subscription))
