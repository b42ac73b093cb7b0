"""Helpers that build a catalog and place orders the way a client does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.billing.api import contact_body
from tests.billing.catalog_api import (
    charge_fields,
    make_product,
    make_rate_plan,
    per_unit_fields,
    tiers,
)
from tests.crud.support import create_object
from tests.factories import TenantContext


@dataclass(frozen=True)
class Plan:
    """A catalog rate plan and its charges' IDs."""

    id: str
    number: str
    charge_ids: list[str]


async def make_catalog_plan(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    *charges: dict[str, Any],
    product: str = "Gold",
    name: str = "Monthly",
) -> Plan:
    """A product with one rate plan of ``charges`` (CRUD fields without the rate plan ID;
    by default a monthly flat fee of 100 USD)."""
    product_id = await make_product(client, tenant, Name=product)
    rate_plan_id = await make_rate_plan(client, tenant, product_id, Name=name)
    charge_ids = []
    for fields in charges or (monthly_fee(100),):
        charge_ids.append(
            await create_object(
                client,
                tenant,
                "product-rate-plan-charge",
                {**fields, "ProductRatePlanId": rate_plan_id},
            )
        )
    response = await client.get(
        f"/v1/object/product-rate-plan/{rate_plan_id}", headers=tenant.headers
    )
    return Plan(rate_plan_id, response.json()["ProductRatePlanNumber"], charge_ids)


def monthly_fee(price: Any, currency: str = "USD", **overrides: Any) -> dict[str, Any]:
    fields = charge_fields("", ProductRatePlanChargeTierData=tiers((currency, price)), **overrides)
    fields.pop("ProductRatePlanId")
    return fields


def seats(price: Any, quantity: Any = 5, **overrides: Any) -> dict[str, Any]:
    """A per-unit monthly charge, ``quantity`` seats by default."""
    fields = per_unit_fields(
        "",
        DefaultQuantity=quantity,
        ProductRatePlanChargeTierData=tiers(("USD", price)),
        **overrides,
    )
    fields.pop("ProductRatePlanId")
    return fields


def setup_fee(price: Any, **overrides: Any) -> dict[str, Any]:
    return monthly_fee(price, Name="Setup", ChargeType="OneTime", **overrides)


def termed(months: int = 12, **extra: Any) -> dict[str, Any]:
    return {
        "initialTerm": {"termType": "TERMED", "period": months, "periodType": "Month"},
        "renewalTerms": [{"period": months, "periodType": "Month"}],
        **extra,
    }


EVERGREEN = {"initialTerm": {"termType": "EVERGREEN"}}


def create_action(
    *plans: Plan | dict[str, Any],
    terms: dict[str, Any] | None = None,
    on: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    rate_plans = [
        {"productRatePlanId": plan.id} if isinstance(plan, Plan) else plan for plan in plans
    ]
    return action(
        "CreateSubscription",
        {"subscribeToRatePlans": rate_plans, "terms": terms or termed(), **extra},
        on=on,
    )


ACTION_FIELDS = {
    "CreateSubscription": "createSubscription",
    "AddProduct": "addProduct",
    "UpdateProduct": "updateProduct",
    "RemoveProduct": "removeProduct",
    "CancelSubscription": "cancelSubscription",
    "RenewSubscription": "renewSubscription",
    "TermsAndConditions": "termsAndConditions",
}


def action(kind: str, details: dict[str, Any] | None = None, *, on: str | None = None) -> dict:
    """An order action of type ``kind``, dated ``on`` (its contract effective date)."""
    body: dict[str, Any] = {"type": kind}
    if details is not None:
        body[ACTION_FIELDS[kind]] = details
    if on is not None:
        body["triggerDates"] = [{"name": "ContractEffective", "triggerDate": on}]
    return body


def quantity_update(
    plan: Plan, quantity: Any, *, charge: str = "C-00000001", on: str | None = None
) -> dict[str, Any]:
    """An UpdateProduct action: ``charge`` of the subscribed ``plan`` gets ``quantity``."""
    update = {"chargeNumber": charge, "pricing": {"recurringPerUnit": {"quantity": quantity}}}
    return action("UpdateProduct", {"productRatePlanId": plan.id, "chargeUpdates": [update]}, on=on)


def new_account(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Analytical Engines",
        "currency": "USD",
        "billCycleDay": 1,
        "billToContact": contact_body(),
        **overrides,
    }


def order_body(
    *subscriptions: dict[str, Any],
    account: str | None = None,
    order_date: str = "2024-01-01",
    **extra: Any,
) -> dict[str, Any]:
    """An order of ``subscriptions`` (``{"orderActions": [...]}``, or a list of actions for a
    new subscription) for the account numbered ``account``, or a new account."""
    entries = [
        {"orderActions": entry} if isinstance(entry, list) else entry for entry in subscriptions
    ]
    body: dict[str, Any] = {"orderDate": order_date, "subscriptions": entries, **extra}
    if account is not None:
        body["existingAccountNumber"] = account
    elif "newAccount" not in extra and "previewAccountInfo" not in extra:
        body["newAccount"] = new_account()
    return body


def change(subscription_number: str, *actions: dict[str, Any]) -> dict[str, Any]:
    return {"subscriptionNumber": subscription_number, "orderActions": list(actions)}


async def post_order(
    client: httpx.AsyncClient, tenant: TenantContext, body: dict[str, Any], **params: Any
) -> dict[str, Any]:
    response = await client.post("/v1/orders", json=body, headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def place(
    client: httpx.AsyncClient, tenant: TenantContext, *subscriptions: Any, **extra: Any
) -> dict[str, Any]:
    """Places an order (see ``order_body``); its answer."""
    return await post_order(client, tenant, order_body(*subscriptions, **extra))


async def get_json(client: httpx.AsyncClient, tenant: TenantContext, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def subscription(
    client: httpx.AsyncClient, tenant: TenantContext, key: str
) -> dict[str, Any]:
    return await get_json(client, tenant, f"/v1/subscriptions/{key}")


def charges_of(subscription: dict[str, Any]) -> list[dict[str, Any]]:
    return [charge for plan in subscription["ratePlans"] for charge in plan["ratePlanCharges"]]
