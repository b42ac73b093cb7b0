"""The catalog REST API: ``GET /v1/catalog/products``, ``GET /v1/catalog/product/{product-key}``
(key = ID, SKU or number) and ``GET /v1/rateplan/{product-key}/productRatePlan``. The catalog
is written through CRUD (``/v1/object/product`` and the rest; see the object registry).

From ``Zuora-Version`` 230.0 on, as the SDK sends it, a product's ``productRatePlans`` is the
URL of its rate plans rather than the rate plans themselves.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.catalog import service
from asyncgate.billing.catalog.schemas import (
    CatalogProduct,
    CatalogRatePlan,
    ProductResponse,
    ProductsPage,
    RatePlansPage,
)
from asyncgate.billing.paging import DEFAULT_PAGE_SIZE, Page, PageSize, next_page
from asyncgate.db.base import utcnow
from asyncgate.http.routing import Session, UnitOfWorkRoute
from asyncgate.http.versions import ZuoraVersion, version_at_least

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Catalog"])

RATE_PLANS_AS_URL_FROM = 230.0


@router.get("/catalog/products")
async def get_products(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    zuora_version: ZuoraVersion = None,
    page: Page = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> ProductsPage:
    as_url = version_at_least(zuora_version, RATE_PLANS_AS_URL_FROM)
    products = await service.list_products(
        session,
        principal.tenant_id,
        offset=(page - 1) * page_size,
        limit=page_size + 1,  # one more tells whether there is a next page
        with_rate_plans=not as_url,
    )
    today = utcnow().date()
    return ProductsPage(
        products=[
            CatalogProduct.of(product, rate_plans_as_url=as_url, today=today)
            for product in products[:page_size]
        ],
        next_page=next_page(request, page, page_size, len(products) > page_size),
    )


@router.get("/catalog/product/{product_key}")
async def get_product(
    product_key: str,
    session: Session,
    principal: CurrentPrincipal,
    zuora_version: ZuoraVersion = None,
) -> ProductResponse:
    as_url = version_at_least(zuora_version, RATE_PLANS_AS_URL_FROM)
    product = await service.get_product(
        session, principal.tenant_id, product_key, with_rate_plans=not as_url
    )
    return ProductResponse.of(product, rate_plans_as_url=as_url, today=utcnow().date())


@router.get("/rateplan/{product_key}/productRatePlan")
async def get_product_rate_plans(
    request: Request,
    product_key: str,
    session: Session,
    principal: CurrentPrincipal,
    page: Page = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> RatePlansPage:
    product, rate_plans = await service.list_product_rate_plans(
        session,
        principal.tenant_id,
        product_key,
        offset=(page - 1) * page_size,
        limit=page_size + 1,
    )
    today = utcnow().date()
    return RatePlansPage(
        product_rate_plans=[
            CatalogRatePlan.of(rate_plan, product, today) for rate_plan in rate_plans[:page_size]
        ],
        next_page=next_page(request, page, page_size, len(rate_plans) > page_size),
    )
