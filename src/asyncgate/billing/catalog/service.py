"""Catalog rules: numbering, effective dates, what each charge type and model needs, prices per
currency, and deletion.

Every function is scoped to one tenant: another tenant's product, rate plan or charge is not
found, exactly like a missing one. Functions flush and never commit. Messages name fields as
Zuora's CRUD API does, the API the catalog is written through.

Deleting removes everything below the deleted object: Zuora deletes catalog objects no
subscription uses, with their rate plans and charges, and refuses the others.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from asyncgate.billing.catalog import repository
from asyncgate.billing.catalog.models import (
    ChargeModel,
    ChargeType,
    Product,
    ProductRatePlan,
    ProductRatePlanCharge,
    ProductRatePlanChargePrice,
)
from asyncgate.billing.catalog.repository import (
    WITH_CHARGES,
    WITH_PRICES,
    WITH_RATE_PLANS,
    Unique,
    find_by_key,
    flush_unique,
)
from asyncgate.billing.catalog.schemas import (
    PRICE_FORMATS,
    ChargeCreate,
    ChargeFields,
    ChargeTier,
    ChargeUpdate,
    ProductCreate,
    ProductUpdate,
    RatePlanCreate,
    RatePlanUpdate,
)
from asyncgate.billing.schemas import ZuoraInput
from asyncgate.db.sequences import next_free_number
from asyncgate.http.errors import (
    BusinessRuleViolated,
    InvalidValue,
    MissingField,
    NotFound,
    Resource,
)

SKU_SEQUENCE = "product_sku"
PRODUCT_SEQUENCE = "product"
RATE_PLAN_SEQUENCE = "product_rate_plan"
CHARGE_SEQUENCE = "product_rate_plan_charge"

_PRODUCT_UNIQUES = (
    Unique("SKU", "sku", "tenant_id", "by another product"),
    Unique("ProductNumber", "product_number", "tenant_id", "by another product"),
    Unique("Name", "name", "tenant_id", "by another product"),
)
_RATE_PLAN_UNIQUES = (
    Unique(
        "ProductRatePlanNumber", "product_rate_plan_number", "tenant_id", "by another rate plan"
    ),
    Unique("Name", "name", "product_id", "by another rate plan of the product"),
)
_CHARGE_UNIQUES = (
    Unique(
        "ProductRatePlanChargeNumber",
        "product_rate_plan_charge_number",
        "tenant_id",
        "by another charge",
    ),
    Unique("Name", "name", "product_rate_plan_id", "by another charge of the rate plan"),
)
_TIERS = frozenset({"tiers"})


# Products


async def create_product(session: AsyncSession, tenant_id: str, data: ProductCreate) -> Product:
    """Creates a product. Its SKU (``SKU-00000001``) and number (``PC-00000001``) are the
    tenant's next free ones unless given; SKU, number and name are each unique in the tenant."""
    product = Product(tenant_id=tenant_id, custom_fields=data.custom_fields, **_given(data))
    product.sku = data.sku or await next_free_number(
        session, tenant_id, SKU_SEQUENCE, "SKU-{:08d}", Product.sku
    )
    product.product_number = data.product_number or await next_free_number(
        session, tenant_id, PRODUCT_SEQUENCE, "PC-{:08d}", Product.product_number
    )
    _check_window(product.effective_start_date, product.effective_end_date, Resource.PRODUCT)
    await flush_unique(session, product, _PRODUCT_UNIQUES, Resource.PRODUCT)
    return product


async def get_product(
    session: AsyncSession, tenant_id: str, product_key: str, *, with_rate_plans: bool = False
) -> Product:
    """The tenant's product whose ID, SKU or number is ``product_key``, or ``NotFound``.

    ``with_rate_plans`` loads its rate plans with their charges and prices.
    """
    options = [WITH_RATE_PLANS] if with_rate_plans else []
    product = await find_by_key(
        session, tenant_id, Product, product_key, (Product.sku, Product.product_number), *options
    )
    if product is None:
        raise NotFound(f"Product {product_key} does not exist", resource=Resource.PRODUCT)
    return product


async def list_products(
    session: AsyncSession, tenant_id: str, *, offset: int, limit: int, with_rate_plans: bool
) -> list[Product]:
    """A slice of the tenant's products, the most recently updated first, as Zuora lists them."""
    statement = (
        select(Product)
        .where(Product.tenant_id == tenant_id)
        .order_by(Product.updated_at.desc(), Product.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if with_rate_plans:
        statement = statement.options(WITH_RATE_PLANS)
    return list((await session.scalars(statement)).all())


async def update_product(
    session: AsyncSession, tenant_id: str, product_id: str, data: ProductUpdate
) -> Product:
    product = await get_product(session, tenant_id, product_id)
    _apply(product, data)
    _check_window(product.effective_start_date, product.effective_end_date, Resource.PRODUCT)
    await flush_unique(session, product, _PRODUCT_UNIQUES, Resource.PRODUCT)
    return product


async def delete_product(session: AsyncSession, tenant_id: str, product_id: str) -> Product:
    """Deletes the product with its rate plans, their charges and prices; returns the deleted
    (detached) product."""
    product = await get_product(session, tenant_id, product_id)
    await _delete(session, Product, product, Resource.PRODUCT)
    return product


# Product rate plans


async def create_product_rate_plan(
    session: AsyncSession, tenant_id: str, data: RatePlanCreate
) -> ProductRatePlan:
    """Creates a rate plan of the tenant's product ``data.product_id``; its number
    (``PRP-00000001``) is the tenant's next free one unless given."""
    product = await _parent(
        session, tenant_id, Product, data.product_id, "ProductId", Resource.PRODUCT_RATE_PLAN
    )
    rate_plan = ProductRatePlan(
        tenant_id=tenant_id,
        product_id=product.id,
        custom_fields=data.custom_fields,
        **_given(data, exclude=frozenset({"product_id"})),
    )
    rate_plan.product_rate_plan_number = data.product_rate_plan_number or await next_free_number(
        session,
        tenant_id,
        RATE_PLAN_SEQUENCE,
        "PRP-{:08d}",
        ProductRatePlan.product_rate_plan_number,
    )
    _check_rate_plan_window(rate_plan, product)
    await flush_unique(session, rate_plan, _RATE_PLAN_UNIQUES, Resource.PRODUCT_RATE_PLAN)
    return rate_plan


async def get_product_rate_plan(session: AsyncSession, tenant_id: str, key: str) -> ProductRatePlan:
    """The tenant's rate plan whose ID or number is ``key``, or ``NotFound``; with its product,
    and its charges with their prices."""
    rate_plan = await find_by_key(
        session,
        tenant_id,
        ProductRatePlan,
        key,
        (ProductRatePlan.product_rate_plan_number,),
        joinedload(ProductRatePlan.product),
        WITH_CHARGES,
    )
    if rate_plan is None:
        raise NotFound(
            f"Product rate plan {key} does not exist", resource=Resource.PRODUCT_RATE_PLAN
        )
    return rate_plan


async def list_product_rate_plans(
    session: AsyncSession, tenant_id: str, product_key: str, *, offset: int, limit: int
) -> tuple[Product, list[ProductRatePlan]]:
    """The product named by ``product_key`` (as :func:`get_product` finds it) and a slice of
    its rate plans, in the order they were created, with their charges and prices."""
    product = await get_product(session, tenant_id, product_key)
    rate_plans = await repository.product_rate_plans(session, product, offset=offset, limit=limit)
    return product, rate_plans


async def update_product_rate_plan(
    session: AsyncSession, tenant_id: str, rate_plan_id: str, data: RatePlanUpdate
) -> ProductRatePlan:
    rate_plan = await get_product_rate_plan(session, tenant_id, rate_plan_id)
    _apply(rate_plan, data)
    _check_rate_plan_window(rate_plan, rate_plan.product)
    await flush_unique(session, rate_plan, _RATE_PLAN_UNIQUES, Resource.PRODUCT_RATE_PLAN)
    return rate_plan


async def delete_product_rate_plan(
    session: AsyncSession, tenant_id: str, rate_plan_id: str
) -> ProductRatePlan:
    """Deletes the rate plan with its charges and their prices."""
    rate_plan = await get_product_rate_plan(session, tenant_id, rate_plan_id)
    await _delete(session, ProductRatePlan, rate_plan, Resource.PRODUCT_RATE_PLAN)
    return rate_plan


# Product rate plan charges


async def create_product_rate_plan_charge(
    session: AsyncSession, tenant_id: str, data: ChargeCreate
) -> ProductRatePlanCharge:
    """Creates a charge of the tenant's rate plan ``data.product_rate_plan_id``, priced in
    each currency of ``data.tiers``; its number (``PRPC-00000001``) is the tenant's next free
    one unless given. See :func:`_settle_charge` for what each type and model needs."""
    rate_plan = await _parent(
        session,
        tenant_id,
        ProductRatePlan,
        data.product_rate_plan_id,
        "ProductRatePlanId",
        Resource.PRODUCT_RATE_PLAN_CHARGE,
    )
    charge = ProductRatePlanCharge(
        tenant_id=tenant_id,
        product_rate_plan_id=rate_plan.id,
        custom_fields=data.custom_fields,
        prices=[],
        **_given(data, exclude=_TIERS | {"product_rate_plan_id"}),
    )
    charge.product_rate_plan_charge_number = (
        data.product_rate_plan_charge_number
        or await next_free_number(
            session,
            tenant_id,
            CHARGE_SEQUENCE,
            "PRPC-{:08d}",
            ProductRatePlanCharge.product_rate_plan_charge_number,
        )
    )
    _settle_charge(charge, data)
    _set_prices(charge, data.tiers)
    await flush_unique(session, charge, _CHARGE_UNIQUES, Resource.PRODUCT_RATE_PLAN_CHARGE)
    return charge


async def get_product_rate_plan_charge(
    session: AsyncSession, tenant_id: str, key: str
) -> ProductRatePlanCharge:
    """The tenant's charge whose ID or number is ``key``, or ``NotFound``; with its prices."""
    charge = await find_by_key(
        session,
        tenant_id,
        ProductRatePlanCharge,
        key,
        (ProductRatePlanCharge.product_rate_plan_charge_number,),
        WITH_PRICES,
    )
    if charge is None:
        raise NotFound(
            f"Product rate plan charge {key} does not exist",
            resource=Resource.PRODUCT_RATE_PLAN_CHARGE,
        )
    return charge


async def update_product_rate_plan_charge(
    session: AsyncSession, tenant_id: str, charge_id: str, data: ChargeUpdate
) -> ProductRatePlanCharge:
    """Changes the fields sent in ``data``; tiers, when sent, replace the charge's prices."""
    charge = await get_product_rate_plan_charge(session, tenant_id, charge_id)
    _apply(charge, data, exclude=_TIERS)
    _settle_charge(charge, data)
    if data.tiers is not None:
        _set_prices(charge, data.tiers)
    await flush_unique(session, charge, _CHARGE_UNIQUES, Resource.PRODUCT_RATE_PLAN_CHARGE)
    return charge


async def delete_product_rate_plan_charge(
    session: AsyncSession, tenant_id: str, charge_id: str
) -> ProductRatePlanCharge:
    """Deletes the charge with its prices."""
    charge = await get_product_rate_plan_charge(session, tenant_id, charge_id)
    await _delete(session, ProductRatePlanCharge, charge, Resource.PRODUCT_RATE_PLAN_CHARGE)
    return charge


# Rules shared by the three


def _given(data: ZuoraInput, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields a new row takes from ``data``: those sent, but for nulls (the row's defaults
    stand for them)."""
    return {
        name: value
        for name, value in data.given_values(exclude=exclude).items()
        if value is not None
    }


def _apply(row: Any, data: ZuoraInput, *, exclude: frozenset[str] = frozenset()) -> None:
    """Copies the fields sent in ``data`` onto ``row``; custom fields merge by name."""
    for name, value in data.given_values(exclude=exclude).items():
        setattr(row, name, value)
    if data.custom_fields:
        row.custom_fields = {**row.custom_fields, **data.custom_fields}


async def _parent(
    session: AsyncSession,
    tenant_id: str,
    model: type[Any],
    parent_id: str,
    field: str,
    resource: Resource,
) -> Any:
    """The tenant's row of ``model`` a new child names by ID in ``field``."""
    statement = select(model).where(model.tenant_id == tenant_id, model.id == parent_id)
    parent = await session.scalar(statement)
    if parent is None:
        raise InvalidValue(f"{field} {parent_id} does not exist", resource=resource)
    return parent


async def _delete(session: AsyncSession, model: type[Any], row: Any, resource: Resource) -> None:
    """Deletes ``row``; the database deletes the rows below it (foreign keys cascade). A row
    that a subscription uses, or whose rate plans or charges one uses, stays: the subscription's
    foreign key refuses the delete."""
    statement = delete(model).where(model.id == row.id)
    try:
        async with session.begin_nested():
            await session.execute(statement.execution_options(synchronize_session=False))
    except IntegrityError:
        raise BusinessRuleViolated(
            f"{model.__name__} {row.id} is used by a subscription and cannot be deleted",
            resource=resource,
        ) from None
    session.expunge(row)


def _check_window(start: Any, end: Any, resource: Resource) -> None:
    if end <= start:
        raise InvalidValue(
            f"EffectiveEndDate {end} must be after EffectiveStartDate {start}", resource=resource
        )


def _check_rate_plan_window(rate_plan: ProductRatePlan, product: Product) -> None:
    """A rate plan's own dates, or its product's where it has none, must make a window."""
    _check_window(
        rate_plan.effective_start_date or product.effective_start_date,
        rate_plan.effective_end_date or product.effective_end_date,
        Resource.PRODUCT_RATE_PLAN,
    )


# Charges


def _settle_charge(charge: ProductRatePlanCharge, data: ChargeFields) -> None:
    """Checks what the charge's type and model need, given the fields ``data`` sent.

    A recurring charge needs a billing period. A one-time charge has none: one sent is
    dropped, since Zuora's SDK requires a ``BillingPeriod`` on every charge it creates or
    updates. A per-unit charge needs a unit of measure and a default quantity; a flat fee has no
    quantity, so sending one is refused, and a charge that becomes a flat fee loses its own.
    Tiers sent must price each currency once, in the format of the charge's model.
    """
    resource = Resource.PRODUCT_RATE_PLAN_CHARGE
    if charge.charge_type == ChargeType.RECURRING and charge.billing_period is None:
        raise MissingField("BillingPeriod is required for Recurring charges", resource=resource)
    if charge.charge_type == ChargeType.ONE_TIME:
        charge.billing_period = None
    if charge.charge_model == ChargeModel.PER_UNIT:
        for field, value in (("UOM", charge.uom), ("DefaultQuantity", charge.default_quantity)):
            if value is None:
                raise MissingField(
                    f"{field} is required for Per Unit Pricing charges", resource=resource
                )
    else:
        if data.default_quantity is not None:
            raise InvalidValue(
                "DefaultQuantity applies to Per Unit Pricing charges only", resource=resource
            )
        charge.default_quantity = None
    if data.tiers is not None:
        _check_tiers(data.tiers, ChargeModel(charge.charge_model))


def _check_tiers(tiers: list[ChargeTier], model: ChargeModel) -> None:
    seen: set[str] = set()
    for tier in tiers:
        if tier.currency in seen:
            raise InvalidValue(
                f"ProductRatePlanChargeTierData prices the currency {tier.currency} twice; "
                "give one tier per currency",
                resource=Resource.PRODUCT_RATE_PLAN_CHARGE,
            )
        seen.add(tier.currency)
        if tier.price_format not in (None, PRICE_FORMATS[model]):
            raise InvalidValue(
                f"PriceFormat {tier.price_format} does not fit ChargeModel {model}; "
                f"use {PRICE_FORMATS[model]}",
                resource=Resource.PRODUCT_RATE_PLAN_CHARGE,
            )


def _set_prices(charge: ProductRatePlanCharge, tiers: list[ChargeTier]) -> None:
    """Makes the charge's prices those of ``tiers``: a currency it keeps keeps its row."""
    current = {row.currency: row for row in charge.prices}
    rows = []
    for tier in tiers:
        row = current.get(tier.currency)
        if row is None:
            row = ProductRatePlanChargePrice(tenant_id=charge.tenant_id, currency=tier.currency)
        row.price = tier.price
        rows.append(row)
    charge.prices = rows
