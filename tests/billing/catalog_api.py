"""Small helpers that build a catalog through CRUD and read it back, the way a client does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.crud.support import create_object
from tests.factories import TenantContext

LEGACY_VERSION = {"Zuora-Version": "211.0"}
"""A minor version that lists a product's rate plans in place (the default too)."""
CURRENT_VERSION = {"Zuora-Version": "2025-08-12"}
"""The version zuora-sdk sends: a product's rate plans are a URL."""


def tiers(*prices: tuple[str, Any]) -> dict[str, Any]:
    """``ProductRatePlanChargeTierData`` with one tier per (currency, price)."""
    return {
        "ProductRatePlanChargeTier": [
            {"Currency": currency, "Price": price} for currency, price in prices
        ]
    }


def product_fields(**overrides: Any) -> dict[str, Any]:
    return {
        "Name": "Gold",
        "EffectiveStartDate": "2024-01-01",
        "EffectiveEndDate": "2099-12-31",
        **overrides,
    }


def charge_fields(rate_plan_id: str, **overrides: Any) -> dict[str, Any]:
    """A recurring monthly flat fee of 10 USD."""
    return {
        "ProductRatePlanId": rate_plan_id,
        "Name": "Subscription fee",
        "ChargeType": "Recurring",
        "ChargeModel": "Flat Fee Pricing",
        "BillingPeriod": "Month",
        "ProductRatePlanChargeTierData": tiers(("USD", 10)),
        **overrides,
    }


def per_unit_fields(rate_plan_id: str, **overrides: Any) -> dict[str, Any]:
    """A recurring monthly per-unit charge of 9.99 USD per seat, 5 seats by default."""
    return charge_fields(
        rate_plan_id,
        **{
            "Name": "Seats",
            "ChargeModel": "Per Unit Pricing",
            "UOM": "Seat",
            "DefaultQuantity": 5,
            "ProductRatePlanChargeTierData": tiers(("USD", 9.99)),
            **overrides,
        },
    )


async def make_product(client: httpx.AsyncClient, tenant: TenantContext, **fields: Any) -> str:
    return await create_object(client, tenant, "product", product_fields(**fields))


async def make_rate_plan(
    client: httpx.AsyncClient, tenant: TenantContext, product_id: str, **fields: Any
) -> str:
    fields = {"ProductId": product_id, "Name": "Monthly", **fields}
    return await create_object(client, tenant, "product-rate-plan", fields)


async def make_charge(
    client: httpx.AsyncClient, tenant: TenantContext, rate_plan_id: str, **fields: Any
) -> str:
    return await create_object(
        client, tenant, "product-rate-plan-charge", charge_fields(rate_plan_id, **fields)
    )


async def make_plan(client: httpx.AsyncClient, tenant: TenantContext) -> tuple[str, str]:
    """A product with one rate plan; their IDs."""
    product_id = await make_product(client, tenant)
    return product_id, await make_rate_plan(client, tenant, product_id)


async def catalog_product(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    key: str,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``GET /v1/catalog/product/{key}``, rate plans listed in place unless ``headers`` say."""
    response = await client.get(
        f"/v1/catalog/product/{key}", headers={**tenant.headers, **(headers or {})}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def catalog_charge(
    client: httpx.AsyncClient, tenant: TenantContext, product_id: str
) -> dict[str, Any]:
    """The only charge of the product's only rate plan, as the catalog lists it."""
    [rate_plan] = (await catalog_product(client, tenant, product_id))["productRatePlans"]
    [charge] = rate_plan["productRatePlanCharges"]
    return charge
