"""Orders: creating one (its account, its actions on subscriptions, its bill run), previewing
one without keeping anything, reading one, and deleting one, which undoes it.

An order is executed as a whole or not at all: any refused action refuses the order. Each
subscription it touches gets one new version, written by all of the order's actions on it in
turn. Functions flush and never commit.

Deleting an order removes the subscription versions it wrote (so the versions before become
the latest again) and the invoices its bill run created; the account it created stays, as in
Zuora. An order is deleted only while it is the last to have changed each of its
subscriptions: a later order built on its versions, so that order must be deleted first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Update, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from asyncgate.auth.principal import Principal
from asyncgate.billing.accounts.models import Account
from asyncgate.billing.accounts.repository import find_account
from asyncgate.billing.accounts.service import create_account, get_account
from asyncgate.billing.invoices.metrics import total_contracted_billing, total_unless_evergreen
from asyncgate.billing.invoices.models import Invoice
from asyncgate.billing.invoices.preview import PreviewThruType, preview_through_date
from asyncgate.billing.invoices.service import bill_subscriptions, delete_order_invoices
from asyncgate.billing.orders.actions import (
    ActionDates,
    OrderContext,
    apply_action,
    create_subscription,
)
from asyncgate.billing.orders.models import Order, OrderAction, OrderActionType
from asyncgate.billing.orders.schemas import (
    BillingOptions,
    OrderActionCreate,
    OrderCreate,
    OrderFields,
    OrderPreview,
    PreviewInvoice,
    PreviewOptions,
    ProcessingOptions,
)
from asyncgate.billing.subscriptions.models import (
    Subscription,
    SubscriptionCharge,
    SubscriptionRatePlan,
)
from asyncgate.billing.subscriptions.repository import latest_versions, order_versions
from asyncgate.billing.subscriptions.service import next_version, subscription_view
from asyncgate.db.base import new_id
from asyncgate.db.sequences import next_free_number
from asyncgate.http.errors import (
    BusinessRuleViolated,
    InvalidValue,
    LockingContention,
    MissingField,
    NotFound,
    Resource,
)

ORDER_SEQUENCE = "order"
_ORDER = Resource.ORDER


@dataclass(frozen=True)
class Change:
    """A subscription as the order left it (its new version) and the version it changed
    (None for a subscription the order created)."""

    subscription: Subscription
    base: Subscription | None


@dataclass(frozen=True)
class PlacedOrder:
    """An executed order; ``billed`` when it ran billing, ``invoice`` when that billed
    something."""

    order: Order
    account: Account
    changes: list[Change]
    billed: bool
    invoice: Invoice | None


async def create_order(
    session: AsyncSession, principal: Principal, data: OrderCreate, *, today: date
) -> PlacedOrder:
    """Executes the order. With ``processingOptions.runBilling``, its subscriptions are billed
    up to ``billingOptions.targetDate`` (default ``today``) on one invoice dated
    ``documentDate`` (default ``today``)."""
    tenant_id = principal.tenant_id
    try:
        if data.new_account is not None:
            account = await _new_account(session, tenant_id, data)
        else:
            account = await _existing_account(session, tenant_id, data)
        number = await _order_number(session, tenant_id, data.order_number)
        order = await _new_order(session, principal, data, account, number)
        changes = await _execute(OrderContext(session, tenant_id, order, account), data)
        await session.flush()
    except IntegrityError:
        # Only a concurrent order can clash here: with a version or a number just taken.
        raise LockingContention(
            "Another order changed the same subscriptions at the same time; retry the order",
            resource=_ORDER,
        ) from None
    invoice = None
    options = data.processing_options or ProcessingOptions()
    if options.run_billing:
        billing = options.billing_options or BillingOptions()
        invoice = await bill_subscriptions(
            session,
            account,
            [change.subscription for change in changes],
            target_date=billing.target_date or today,
            invoice_date=billing.document_date or today,
            order_id=order.id,
        )
    return PlacedOrder(order, account, changes, options.run_billing, invoice)


async def _new_account(session: AsyncSession, tenant_id: str, data: OrderCreate) -> Account:
    assert data.new_account is not None
    created = await create_account(session, tenant_id, data.new_account.account_create())
    account = await get_account(session, tenant_id, created.id)
    if data.new_account.bill_cycle_day == 0:
        account.bill_cycle_day = 0  # set from the order's charges, see _settle_bill_cycle_day
    return account


async def _existing_account(session: AsyncSession, tenant_id: str, data: OrderFields) -> Account:
    number = data.existing_account_number
    account = await find_account(session, tenant_id, account_number=number)
    if account is None:
        raise InvalidValue(f"existingAccountNumber {number} does not exist", resource=_ORDER)
    return account


async def _order_number(session: AsyncSession, tenant_id: str, chosen: str | None) -> str:
    if chosen is None:
        return await next_free_number(
            session, tenant_id, ORDER_SEQUENCE, "O-{:08d}", Order.order_number
        )
    taken = select(Order.id).where(Order.tenant_id == tenant_id, Order.order_number == chosen)
    if await session.scalar(taken) is not None:
        raise BusinessRuleViolated(
            f"The order number {chosen} is already in use", resource=_ORDER, status=409
        )
    return chosen


async def _new_order(
    session: AsyncSession, principal: Principal, data: OrderFields, account: Account, number: str
) -> Order:
    order = Order(
        id=new_id(),
        tenant_id=principal.tenant_id,
        order_number=number,
        account_id=account.id,
        order_date=data.order_date,
        description=data.description,
        category=data.category,
        created_by=principal.user_id or principal.client_id,
        custom_fields=data.custom_fields,
    )
    session.add(order)
    await session.flush()  # before the subscription versions that refer to it
    return order


async def _execute(context: OrderContext, data: OrderFields) -> list[Change]:
    """Applies every action of the order, subscription by subscription, in order."""
    changes: list[Change] = []
    sequence = 0
    for position, entry in enumerate(data.subscriptions):
        actions = list(entry.order_actions)
        if entry.subscription_number is None:
            first = actions.pop(0)
            if first.type != OrderActionType.CREATE_SUBSCRIPTION:
                raise MissingField(
                    f"subscriptions[{position}].subscriptionNumber is required for a "
                    f"{first.type} action",
                    resource=_ORDER,
                )
            assert first.create_subscription is not None
            dates = ActionDates.of(first, data.order_date)
            subscription, details = await create_subscription(
                context, first.create_subscription, dates, entry.custom_fields
            )
            _record(context, first, position, sequence, subscription, dates, details)
            sequence += 1
            base = None
        else:
            base = await _latest(context, entry.subscription_number, changes)
            subscription = next_version(base, context.order.id)
            subscription.custom_fields = {**subscription.custom_fields, **entry.custom_fields}
            context.session.add(subscription)
        for action in actions:
            dates = ActionDates.of(action, data.order_date)
            details = await apply_action(context, subscription, action, dates)
            _record(context, action, position, sequence, subscription, dates, details)
            sequence += 1
        changes.append(Change(subscription, base))
    _settle_bill_cycle_day(context.account, changes, data.order_date)
    return changes


async def _latest(context: OrderContext, number: str, changes: list[Change]) -> Subscription:
    if any(change.subscription.subscription_number == number for change in changes):
        raise InvalidValue(f"Subscription {number} appears twice in the order", resource=_ORDER)
    found = await latest_versions(context.session, context.tenant_id, [number])
    subscription = found.get(number)
    if subscription is None:
        raise InvalidValue(f"Subscription {number} does not exist", resource=_ORDER)
    if subscription.account_id != context.account.id:
        raise InvalidValue(
            f"Subscription {number} belongs to another account than the order's",
            resource=_ORDER,
        )
    return subscription


def _record(
    context: OrderContext,
    action: OrderActionCreate,
    position: int,
    sequence: int,
    subscription: Subscription,
    dates: ActionDates,
    details: dict,
) -> None:
    context.session.add(
        OrderAction(
            id=new_id(),
            tenant_id=context.tenant_id,
            order_id=context.order.id,
            sequence=sequence,
            subscription_sequence=position,
            subscription_number=subscription.subscription_number,
            type=action.type,
            contract_effective_date=dates.contract_effective,
            service_activation_date=dates.service_activation,
            customer_acceptance_date=dates.customer_acceptance,
            details=details,
        )
    )


def _settle_bill_cycle_day(account: Account, changes: list[Change], order_date: date) -> None:
    """An account whose bill cycle day is 0 (Zuora's AutoSet) takes the day of the month its
    earliest charge starts, or the order date's when the order has no charge."""
    if account.bill_cycle_day:
        return
    starts = [
        charge.effective_start_date for change in changes for charge in change.subscription.charges
    ]
    account.bill_cycle_day = min(starts, default=order_date).day


# Previews


@dataclass(frozen=True)
class ChargeFigures:
    """A charge's metrics, after or before the order (see ``subscriptions.service``)."""

    mrr: Decimal
    tcv: Decimal | None
    tcb: Decimal | None


@dataclass(frozen=True)
class PreviewedCharge:
    charge_number: str
    product_rate_plan_charge_id: str
    product_rate_plan_id: str
    original_rate_plan_id: str
    after: ChargeFigures
    before: ChargeFigures | None


@dataclass(frozen=True)
class PreviewedOrder:
    """What a preview found, taken before it was undone: the invoice it would create, and
    each subscription's charges by subscription number."""

    invoice: PreviewInvoice | None
    charges: list[tuple[str, list[PreviewedCharge]]]


async def preview_order(
    session: AsyncSession, principal: Principal, data: OrderPreview, *, today: date
) -> PreviewedOrder:
    """Executes the order in a savepoint, bills its subscriptions up to the preview-through
    date as ``runBilling`` would, takes what came out and undoes everything."""
    savepoint = await session.begin_nested()
    try:
        account = await _preview_account(session, principal.tenant_id, data)
        order = await _new_order(session, principal, data, account, new_id())
        changes = await _execute(OrderContext(session, principal.tenant_id, order, account), data)
        await session.flush()
        options = data.preview_options
        invoice = None
        if "BillingDocs" in options.preview_types:
            billed = await bill_subscriptions(
                session,
                account,
                [change.subscription for change in changes],
                target_date=_preview_through(options, account, changes),
                invoice_date=today,
                order_id=order.id,
            )
            invoice = PreviewInvoice.of(billed) if billed else None
        charges = []
        if "ChargeMetrics" in options.preview_types:
            charges = [
                (change.subscription.subscription_number, _previewed_charges(account, change))
                for change in changes
            ]
        return PreviewedOrder(invoice, charges)
    finally:
        await savepoint.rollback()


async def _preview_account(session: AsyncSession, tenant_id: str, data: OrderPreview) -> Account:
    """The preview's account: an existing one, or one made up of ``previewAccountInfo``
    (undone with the rest of the preview)."""
    info = data.preview_account_info
    if info is None:
        return await _existing_account(session, tenant_id, data)
    account = Account(
        id=new_id(),
        tenant_id=tenant_id,
        account_number=new_id(),
        name="Preview",
        currency=info.currency,
        bill_cycle_day=info.bill_cycle_day,
    )
    session.add(account)
    await session.flush()
    return account


def _preview_through(options: PreviewOptions, account: Account, changes: list[Change]) -> date:
    thru_type = PreviewThruType(options.preview_thru_type)
    if thru_type is PreviewThruType.TERM_END:
        ends = [change.subscription.term_end_date for change in changes]
        if None in ends:
            raise BusinessRuleViolated(
                "TermEnd previews need termed subscriptions: the order has an evergreen one",
                resource=_ORDER,
            )
        term_end = max(end for end in ends if end is not None)
    else:
        term_end = None
    try:
        return preview_through_date(
            thru_type,
            charges=[
                charge.to_charge() for change in changes for charge in change.subscription.charges
            ],
            bill_cycle_day=account.bill_cycle_day,
            specific_date=options.specific_preview_thru_date,
            number_of_periods=options.preview_number_of_periods,
            term_end=term_end,
        )
    except ValueError as error:
        raise BusinessRuleViolated(f"Cannot preview: {error}", resource=_ORDER) from None


def _previewed_charges(account: Account, change: Change) -> list[PreviewedCharge]:
    bill_cycle_day = account.bill_cycle_day
    before = _figures(change.base, bill_cycle_day) if change.base else {}
    return [
        PreviewedCharge(
            charge_number=number,
            product_rate_plan_charge_id=charge.last.product_rate_plan_charge_id,
            product_rate_plan_id=charge.rate_plan.product_rate_plan_id,
            original_rate_plan_id=charge.rate_plan.original_rate_plan_id,
            after=charge.figures,
            before=before[number].figures if number in before else None,
        )
        for number, charge in _figures(change.subscription, bill_cycle_day).items()
    ]


@dataclass(frozen=True)
class _FiguredCharge:
    rate_plan: SubscriptionRatePlan
    last: SubscriptionCharge
    figures: ChargeFigures


def _figures(subscription: Subscription, bill_cycle_day: int) -> dict[str, _FiguredCharge]:
    """Each charge of the version, by number, with its figures; the TCB adds up its
    segments' (``metrics.total_contracted_billing``), none for an evergreen charge."""
    figures = {}
    for rate_plan in subscription_view(subscription).rate_plans:
        for charge in rate_plan.charges:
            tcb = total_unless_evergreen(
                (
                    total_contracted_billing(segment.to_charge(), bill_cycle_day)
                    for segment in charge.segments
                ),
                Decimal(0),
            )
            figures[charge.last.charge_number] = _FiguredCharge(
                rate_plan.rate_plan, charge.last, ChargeFigures(charge.mrr, charge.tcv, tcb)
            )
    return figures


# Reading and deleting


@dataclass(frozen=True)
class OrderRecord:
    """An order with its actions, its account and the versions it wrote, by number."""

    order: Order
    account: Account
    versions: dict[str, Subscription]


async def get_order(session: AsyncSession, tenant_id: str, order_number: str) -> OrderRecord:
    order = await _find_order(session, tenant_id, order_number, with_actions=True)
    account = await session.get_one(Account, order.account_id)
    versions = await order_versions(session, order.id)
    return OrderRecord(order, account, {v.subscription_number: v for v in versions})


async def _find_order(
    session: AsyncSession, tenant_id: str, order_number: str, *, with_actions: bool = False
) -> Order:
    statement = select(Order).where(
        Order.tenant_id == tenant_id, Order.order_number == order_number
    )
    if with_actions:
        statement = statement.options(selectinload(Order.actions))
    order = await session.scalar(statement)
    if order is None:
        raise NotFound(f"Order {order_number} does not exist", resource=_ORDER)
    return order


async def delete_order(session: AsyncSession, tenant_id: str, order_number: str) -> Order:
    """Undoes the order (see the module's docstring) and deletes it; returns the deleted
    (detached) order."""
    order = await _find_order(session, tenant_id, order_number)
    versions = await order_versions(session, order.id)
    await _check_nothing_builds_on(session, order, versions)
    account = await session.get_one(Account, order.account_id)
    await delete_order_invoices(session, account, order.id)
    for statement in (
        delete(Subscription).where(Subscription.order_id == order.id),
        *(_restore(version) for version in versions if version.version > 1),
        delete(Order).where(Order.id == order.id),
    ):
        await session.execute(statement.execution_options(synchronize_session=False))
    for version in versions:
        session.expunge(version)
    session.expunge(order)
    return order


async def _check_nothing_builds_on(
    session: AsyncSession, order: Order, versions: Sequence[Subscription]
) -> None:
    for version in versions:
        if version.is_latest:
            continue
        later = (
            select(Order.order_number)
            .join(Subscription, Subscription.order_id == Order.id)
            .where(
                Subscription.tenant_id == order.tenant_id,
                Subscription.subscription_number == version.subscription_number,
                Subscription.version == version.version + 1,
            )
        )
        raise BusinessRuleViolated(
            f"Order {order.order_number} cannot be deleted: order {await session.scalar(later)} "
            f"changed subscription {version.subscription_number} after it; delete that order "
            "first",
            resource=_ORDER,
            status=409,
        )


def _restore(version: Subscription) -> Update:
    """Makes the version before ``version`` the latest again."""
    return (
        update(Subscription)
        .where(
            Subscription.tenant_id == version.tenant_id,
            Subscription.subscription_number == version.subscription_number,
            Subscription.version == version.version - 1,
        )
        .values(is_latest=True)
    )
