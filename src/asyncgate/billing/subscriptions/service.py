"""Subscriptions: reading versions, writing the next version, and their metrics.

Orders are the only writers (``billing.orders``): each order that changes a subscription
writes its next version with :func:`next_version` and changes that copy. Functions flush and
never commit.

A charge's metrics, as the subscription answer shows them: its MRR is its last segment's, or
zero once its rate plan is removed or the subscription cancelled; its TCV is the sum of its
segments' (``metrics.total_contract_value``), none for an evergreen charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.accounts.service import get_account
from asyncgate.billing.invoices.metrics import (
    monthly_recurring_revenue,
    total_contract_value,
    total_unless_evergreen,
)
from asyncgate.billing.invoices.money import round_amount
from asyncgate.billing.subscriptions import repository
from asyncgate.billing.subscriptions.models import (
    Subscription,
    SubscriptionCharge,
    SubscriptionRatePlan,
    SubscriptionStatus,
)
from asyncgate.db.base import Base
from asyncgate.http.errors import NotFound, Resource

_NOT_COPIED = frozenset({"id", "created_at", "updated_at"})


async def get_subscription(session: AsyncSession, tenant_id: str, key: str) -> Subscription:
    """The version whose ID is ``key``, or the latest version numbered ``key``; ``NotFound``
    otherwise. With its account, order, rate plans and charges."""
    subscription = await repository.find_subscription(session, tenant_id, key)
    if subscription is None:
        raise NotFound(f"Subscription {key} does not exist", resource=Resource.SUBSCRIPTION)
    return subscription


async def list_account_subscriptions(
    session: AsyncSession, tenant_id: str, account_key: str, *, offset: int, limit: int
) -> tuple[Account, list[Subscription]]:
    """The account named by ``account_key`` (ID or number) and a slice of the latest versions
    of its subscriptions, the most recently updated first."""
    account = await get_account(session, tenant_id, account_key)
    subscriptions = await repository.account_subscriptions(
        session, tenant_id, account.id, offset=offset, limit=limit
    )
    return account, subscriptions


def next_version(base: Subscription, order_id: str) -> Subscription:
    """A copy of ``base`` (with its rate plans and charges loaded) as the next version,
    written by the order ``order_id``; ``base`` stops being the latest. The copy's rows have
    new IDs; charge numbers, segments and charged-through dates carry over."""
    base.is_latest = False
    return Subscription(
        **_columns(base, exclude={"version", "order_id", "is_latest"}),
        version=base.version + 1,
        order_id=order_id,
        is_latest=True,
        account=base.account,
        rate_plans=[
            SubscriptionRatePlan(
                **_columns(rate_plan, exclude={"subscription_id"}),
                product_rate_plan=rate_plan.product_rate_plan,
                charges=[
                    SubscriptionCharge(**_columns(charge, exclude={"rate_plan_id"}))
                    for charge in rate_plan.charges
                ],
            )
            for rate_plan in base.rate_plans
        ],
    )


def _columns(row: Base, *, exclude: set[str]) -> dict[str, object]:
    table = type(row).__table__
    return {
        column.key: getattr(row, column.key)
        for column in table.columns
        if column.key not in _NOT_COPIED | exclude
    }


def charge_segments(rate_plan: SubscriptionRatePlan) -> list[list[SubscriptionCharge]]:
    """The rate plan's charges, each as its segments in order."""
    return [list(group) for _, group in groupby(rate_plan.charges, lambda c: c.charge_number)]


def ends_charges(subscription: Subscription, rate_plan: SubscriptionRatePlan) -> bool:
    """Whether the rate plan's charges have stopped for good: removed, or cancelled with the
    subscription."""
    return rate_plan.removed or subscription.status == SubscriptionStatus.CANCELLED


# Metrics


@dataclass(frozen=True)
class ChargeView:
    """A charge's segments and its metrics."""

    segments: list[SubscriptionCharge]
    mrr: Decimal
    tcv: Decimal | None

    @property
    def last(self) -> SubscriptionCharge:
        return self.segments[-1]


@dataclass(frozen=True)
class RatePlanView:
    rate_plan: SubscriptionRatePlan
    charges: list[ChargeView]
    mrr: Decimal


@dataclass(frozen=True)
class SubscriptionView:
    """A version with the metrics of its charges: ``mrr`` and ``tcv`` add up its charges'
    (no TCV when one charge has none)."""

    subscription: Subscription
    rate_plans: list[RatePlanView]
    mrr: Decimal
    tcv: Decimal | None


def subscription_view(subscription: Subscription) -> SubscriptionView:
    currency = subscription.account.currency
    zero = round_amount(0, currency)
    rate_plans = []
    for rate_plan in subscription.rate_plans:
        charges = [
            _charge_view(segments, stopped=ends_charges(subscription, rate_plan), zero=zero)
            for segments in charge_segments(rate_plan)
        ]
        rate_plans.append(RatePlanView(rate_plan, charges, sum((c.mrr for c in charges), zero)))
    charges = [charge for rate_plan in rate_plans for charge in rate_plan.charges]
    return SubscriptionView(
        subscription,
        rate_plans,
        mrr=sum((charge.mrr for charge in charges), zero),
        tcv=total_unless_evergreen((charge.tcv for charge in charges), zero),
    )


def _charge_view(segments: list[SubscriptionCharge], *, stopped: bool, zero: Decimal) -> ChargeView:
    return ChargeView(
        segments,
        mrr=zero if stopped else monthly_recurring_revenue(segments[-1].to_charge()),
        tcv=total_unless_evergreen(
            (total_contract_value(segment.to_charge()) for segment in segments), zero
        ),
    )
