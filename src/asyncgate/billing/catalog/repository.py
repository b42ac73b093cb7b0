"""Catalog look-ups by key, and flushing rows whose values must be unique."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload
from sqlalchemy.sql.base import ExecutableOption

from asyncgate.billing.catalog.models import (
    Product,
    ProductRatePlan,
    ProductRatePlanCharge,
)
from asyncgate.http.errors import BusinessRuleViolated, Resource

RowT = TypeVar("RowT", Product, ProductRatePlan, ProductRatePlanCharge)

WITH_PRICES = selectinload(ProductRatePlanCharge.prices)
WITH_CHARGES = selectinload(ProductRatePlan.charges).options(WITH_PRICES)
WITH_RATE_PLANS = selectinload(Product.rate_plans).options(WITH_CHARGES)
"""Loader options for the catalog tree below a product, a rate plan or a charge."""


async def find_by_key(
    session: AsyncSession,
    tenant_id: str,
    model: type[RowT],
    key: str,
    keys: Sequence[InstrumentedAttribute],
    *options: ExecutableOption,
) -> RowT | None:
    """The tenant's row whose ID or one of ``keys`` (columns of unique values) is ``key``.

    When several rows match, the ID wins over the keys, and earlier keys over later ones.
    """
    columns = (model.id, *keys)
    statement = (
        select(model)
        .where(model.tenant_id == tenant_id, or_(*(column == key for column in columns)))
        .options(*options)
    )
    rows = (await session.scalars(statement)).all()

    def rank(row: Any) -> int:
        return next(i for i, column in enumerate(columns) if getattr(row, column.key) == key)

    return min(rows, key=rank, default=None)


async def product_rate_plans(
    session: AsyncSession, product: Product, *, offset: int, limit: int
) -> list[ProductRatePlan]:
    """A slice of the product's rate plans in the order they were created, with their charges
    and prices."""
    statement = (
        select(ProductRatePlan)
        .where(ProductRatePlan.product_id == product.id)
        .order_by(ProductRatePlan.created_at, ProductRatePlan.id)
        .offset(offset)
        .limit(limit)
        .options(WITH_CHARGES)
    )
    return list((await session.scalars(statement)).all())


@dataclass(frozen=True, slots=True)
class Unique:
    """A column whose values are unique among the rows that share ``within``."""

    field: str
    """Zuora's name of the column, for the message."""
    column: str
    within: str
    scope: str
    """Where the value is unique, for the message."""


async def flush_unique(
    session: AsyncSession, row: RowT, uniques: Sequence[Unique], resource: Resource
) -> None:
    """Flushes ``row`` (new or changed) in a savepoint. A value that another row already holds
    in one of the ``uniques`` is a 409 naming the field, and leaves the session as it was."""
    # Read now: a failed flush expires the row.
    row_id = row.id
    values = {name: getattr(row, name) for u in uniques for name in (u.column, u.within)}
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        model = type(row)
        for unique in uniques:
            value = values[unique.column]
            clash = (
                select(func.count())
                .select_from(model)
                .where(
                    getattr(model, unique.within) == values[unique.within],
                    getattr(model, unique.column) == value,
                    model.id != row_id,
                )
            )
            if await session.scalar(clash):
                raise BusinessRuleViolated(
                    f"{unique.field} {value!r} is already in use {unique.scope}",
                    resource=resource,
                    status=409,
                    crud_code="DUPLICATE_VALUE",
                ) from None
        raise
