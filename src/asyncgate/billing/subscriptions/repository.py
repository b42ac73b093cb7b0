"""Subscription look-ups: one version by ID, the latest version by number, an account's
subscriptions, and the versions an order wrote."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from asyncgate.billing.catalog.models import ProductRatePlan
from asyncgate.billing.subscriptions.models import Subscription, SubscriptionRatePlan

WITH_RATE_PLANS = selectinload(Subscription.rate_plans).options(
    selectinload(SubscriptionRatePlan.charges),
    joinedload(SubscriptionRatePlan.product_rate_plan).joinedload(ProductRatePlan.product),
)
"""Loads a version's rate plans, their charges, and the catalog rate plans and products."""
WITH_TREE = (joinedload(Subscription.account), joinedload(Subscription.order), WITH_RATE_PLANS)
"""Everything a subscription's answer shows: the above, its account and its order."""


async def find_subscription(session: AsyncSession, tenant_id: str, key: str) -> Subscription | None:
    """The version whose ID is ``key``, or else the latest version numbered ``key``; with what
    its answer shows."""
    statement = (
        select(Subscription)
        .where(
            Subscription.tenant_id == tenant_id,
            or_(
                Subscription.id == key,
                (Subscription.subscription_number == key) & Subscription.is_latest,
            ),
        )
        .options(*WITH_TREE)
    )
    rows = (await session.scalars(statement)).all()
    return min(rows, key=lambda row: row.id != key, default=None)


async def latest_versions(
    session: AsyncSession, tenant_id: str, numbers: list[str]
) -> dict[str, Subscription]:
    """The latest versions of the tenant's subscriptions numbered ``numbers``, by number, with
    their account, order, rate plans and charges."""
    statement = (
        select(Subscription)
        .where(
            Subscription.tenant_id == tenant_id,
            Subscription.subscription_number.in_(numbers),
            Subscription.is_latest,
        )
        .options(*WITH_TREE)
    )
    return {row.subscription_number: row for row in await session.scalars(statement)}


async def account_subscriptions(
    session: AsyncSession, tenant_id: str, account_id: str, *, offset: int, limit: int
) -> list[Subscription]:
    """A slice of the latest versions of the account's subscriptions, the most recently
    updated first, as Zuora lists them."""
    statement = (
        select(Subscription)
        .where(
            Subscription.tenant_id == tenant_id,
            Subscription.account_id == account_id,
            Subscription.is_latest,
        )
        .order_by(Subscription.updated_at.desc(), Subscription.id.desc())
        .offset(offset)
        .limit(limit)
        .options(*WITH_TREE)
    )
    return list((await session.scalars(statement)).all())


async def order_versions(session: AsyncSession, order_id: str) -> list[Subscription]:
    """The subscription versions the order wrote."""
    statement = select(Subscription).where(Subscription.order_id == order_id)
    return list((await session.scalars(statement)).all())


async def number_taken(session: AsyncSession, tenant_id: str, number: str) -> bool:
    """Whether a subscription of the tenant is numbered ``number``."""
    statement = select(Subscription.id).where(
        Subscription.tenant_id == tenant_id, Subscription.subscription_number == number
    )
    return (await session.scalar(statement.limit(1))) is not None
