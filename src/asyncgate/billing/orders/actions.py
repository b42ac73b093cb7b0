"""The order actions: each changes the new version of one subscription, and tells what it did
in the shape of Zuora's order answer (``{"productRatePlanId": ..., "newRatePlanId": ...}``).

Every action happens on its ``ContractEffective`` trigger date (by default the order date); a
new charge starts on the trigger date its catalog charge's trigger event names, which is the
contract effective date unless the action gives its own. Dates are half-open, as everywhere in
billing: an end date is the first day no longer served.

The rules, each refused with a typed error that names what is wrong:

- a cancelled subscription takes no further action;
- an action on an existing subscription is dated on or after its start and, for a termed one,
  before its term ends (cancellations and renewals have rules of their own);
- rate plans must exist in the catalog, be available on the date and be priced in the
  account's currency; their charges must bill on the account's bill cycle day;
- only per-unit recurring charges change quantity, from the start of their last segment on;
- a rate plan is removed once, a subscription cancelled once; an evergreen subscription has
  no term to end or renew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.catalog.models import (
    BillCycleType,
    ChargeModel,
    ChargeType,
    ProductRatePlan,
    ProductRatePlanCharge,
    RatePlanStatus,
    TriggerEvent,
)
from asyncgate.billing.catalog.schemas import REST_MODELS
from asyncgate.billing.catalog.service import get_product_rate_plan
from asyncgate.billing.invoices.periods import LAST_BILLING_DAY, ONE_DAY
from asyncgate.billing.invoices.preview import TermPeriodType, term_end_date
from asyncgate.billing.orders.models import Order, OrderActionType
from asyncgate.billing.orders.schemas import (
    CancelSubscription,
    ChargeOverride,
    ChargeUpdate,
    CreateSubscription,
    LastTerm,
    OrderActionCreate,
    PriceOverride,
    RatePlanReference,
    RatePlanSubscription,
    TermsAndConditions,
    UnitPriceOverride,
    UpdateProduct,
)
from asyncgate.billing.subscriptions.models import (
    ChangeType,
    Subscription,
    SubscriptionCharge,
    SubscriptionRatePlan,
    SubscriptionStatus,
    TermType,
)
from asyncgate.billing.subscriptions.repository import number_taken
from asyncgate.billing.subscriptions.service import charge_segments, ends_charges
from asyncgate.db.base import new_id
from asyncgate.db.sequences import next_free_number, next_value
from asyncgate.http.errors import (
    BusinessRuleViolated,
    InvalidValue,
    MissingField,
    NotFound,
    Resource,
)

SUBSCRIPTION_SEQUENCE = "subscription"
CHARGE_SEQUENCE = "subscription_charge"
_ORDER = Resource.ORDER
# Which pricing override fits which charge: by (charge type, REST model).
_OVERRIDE_FIELDS = {
    ("Recurring", "FlatFee"): "recurring_flat_fee",
    ("Recurring", "PerUnit"): "recurring_per_unit",
    ("OneTime", "FlatFee"): "one_time_flat_fee",
    ("OneTime", "PerUnit"): "one_time_per_unit",
}


@dataclass(frozen=True)
class ActionDates:
    """An action's trigger dates; those not given are its contract effective date."""

    contract_effective: date
    service_activation: date
    customer_acceptance: date

    @classmethod
    def of(cls, action: OrderActionCreate, order_date: date) -> ActionDates:
        effective = action.trigger_date("ContractEffective") or order_date
        return cls(
            effective,
            action.trigger_date("ServiceActivation") or effective,
            action.trigger_date("CustomerAcceptance") or effective,
        )

    def for_event(self, event: str) -> date:
        return {
            TriggerEvent.CONTRACT_EFFECTIVE: self.contract_effective,
            TriggerEvent.SERVICE_ACTIVATION: self.service_activation,
            TriggerEvent.CUSTOMER_ACCEPTANCE: self.customer_acceptance,
        }[TriggerEvent(event)]


@dataclass
class OrderContext:
    """What every action of one order works with."""

    session: AsyncSession
    tenant_id: str
    order: Order
    account: Account


# Creating a subscription


async def create_subscription(
    context: OrderContext,
    data: CreateSubscription,
    dates: ActionDates,
    custom_fields: dict[str, Any],
) -> tuple[Subscription, dict[str, Any]]:
    """The first version of a new subscription, numbered ``data.subscriptionNumber`` or the
    tenant's next ``A-S00000001``, added to the session. Without renewal terms, the renewal
    term is as long as the initial term."""
    number = await _subscription_number(context, data.subscription_number)
    initial = data.terms.initial_term
    termed = initial.term_type == TermType.TERMED
    if termed and initial.period is None:
        raise MissingField("initialTerm.period is required for a TERMED term", resource=_ORDER)
    term_start = initial.start_date or dates.contract_effective
    renewal_period, renewal_type = initial.period, initial.period_type
    if data.terms.renewal_terms:
        [renewal] = data.terms.renewal_terms
        renewal_period, renewal_type = renewal.period, renewal.period_type
    subscription = Subscription(
        id=new_id(),
        tenant_id=context.tenant_id,
        subscription_number=number,
        version=1,
        is_latest=True,
        account_id=context.account.id,
        account=context.account,
        order_id=context.order.id,
        status=SubscriptionStatus.ACTIVE,
        term_type=initial.term_type,
        contract_effective_date=dates.contract_effective,
        service_activation_date=dates.service_activation,
        customer_acceptance_date=dates.customer_acceptance,
        term_start_date=term_start,
        term_end_date=_term_end(term_start, initial.period, initial.period_type)
        if termed
        else None,
        initial_term=initial.period,
        initial_term_period_type=initial.period_type,
        current_term=initial.period,
        current_term_period_type=initial.period_type,
        renewal_term=renewal_period,
        renewal_term_period_type=renewal_type,
        renewal_setting=data.terms.renewal_setting,
        auto_renew=data.terms.auto_renew,
        notes=data.notes,
        custom_fields=custom_fields,
        rate_plans=[],
    )
    context.session.add(subscription)
    rate_plans = [
        await _subscribe(context, subscription, rate_plan, dates, change=None)
        for rate_plan in data.subscribe_to_rate_plans
    ]
    details = {
        "subscriptionNumber": number,
        "terms": _plain(data.terms),
        "subscribeToRatePlans": rate_plans,
    }
    if data.notes is not None:
        details["notes"] = data.notes
    return subscription, {"createSubscription": details}


async def _subscription_number(context: OrderContext, chosen: str | None) -> str:
    if chosen is None:
        return await next_free_number(
            context.session,
            context.tenant_id,
            SUBSCRIPTION_SEQUENCE,
            "A-S{:08d}",
            Subscription.subscription_number,
        )
    if await number_taken(context.session, context.tenant_id, chosen):
        raise BusinessRuleViolated(
            f"The subscription number {chosen} is already in use", resource=_ORDER, status=409
        )
    return chosen


async def apply_action(
    context: OrderContext, subscription: Subscription, action: OrderActionCreate, dates: ActionDates
) -> dict[str, Any]:
    """Applies an action other than ``CreateSubscription`` to ``subscription`` (a new version,
    with its rate plans and charges loaded)."""
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise BusinessRuleViolated(
            f"Subscription {subscription.subscription_number} is cancelled and takes no "
            f"{action.type} action",
            resource=_ORDER,
        )
    match action.type:
        case OrderActionType.ADD_PRODUCT:
            _check_in_term(subscription, dates.contract_effective, action.type)
            assert action.add_product is not None
            details = await _subscribe(
                context, subscription, action.add_product, dates, change=ChangeType.ADD
            )
            return {"addProduct": details}
        case OrderActionType.UPDATE_PRODUCT:
            _check_in_term(subscription, dates.contract_effective, action.type)
            assert action.update_product is not None
            return {"updateProduct": _update(subscription, action.update_product, dates)}
        case OrderActionType.REMOVE_PRODUCT:
            _check_in_term(subscription, dates.contract_effective, action.type)
            assert action.remove_product is not None
            return {"removeProduct": _remove(subscription, action.remove_product, dates)}
        case OrderActionType.CANCEL_SUBSCRIPTION:
            assert action.cancel_subscription is not None
            return {"cancelSubscription": _cancel(subscription, action.cancel_subscription)}
        case OrderActionType.RENEW_SUBSCRIPTION:
            return {"renewSubscription": _renew(subscription)}
        case OrderActionType.TERMS_AND_CONDITIONS:
            assert action.terms_and_conditions is not None
            return {"termsAndConditions": _change_terms(subscription, action.terms_and_conditions)}
    raise InvalidValue(
        f"CreateSubscription starts a new subscription; {subscription.subscription_number} "
        "exists already",
        resource=_ORDER,
    )


def _check_in_term(subscription: Subscription, day: date, action: str) -> None:
    number = subscription.subscription_number
    if day < subscription.contract_effective_date:
        raise BusinessRuleViolated(
            f"{action} on {day} is before subscription {number} starts on "
            f"{subscription.contract_effective_date}",
            resource=_ORDER,
        )
    if subscription.term_end_date is not None and day >= subscription.term_end_date:
        raise BusinessRuleViolated(
            f"{action} on {day} is not before the current term of subscription {number} ends "
            f"on {subscription.term_end_date}",
            resource=_ORDER,
        )


# Rate plans


async def _subscribe(
    context: OrderContext,
    subscription: Subscription,
    data: RatePlanSubscription,
    dates: ActionDates,
    *,
    change: ChangeType | None,
) -> dict[str, Any]:
    """Adds the product rate plan ``data`` names to ``subscription``, its charges starting on
    their trigger dates and ending with the term."""
    catalog = await _catalog_rate_plan(context, data)
    status = catalog.status_on(dates.contract_effective, catalog.product)
    if status != RatePlanStatus.ACTIVE:
        raise BusinessRuleViolated(
            f"Product rate plan {catalog.product_rate_plan_number} is not available on "
            f"{dates.contract_effective} ({status})",
            resource=_ORDER,
        )
    overrides = _overrides_by_charge(catalog, data.charge_overrides)
    rate_plan_id = new_id()
    rate_plan = SubscriptionRatePlan(
        id=rate_plan_id,
        tenant_id=context.tenant_id,
        original_rate_plan_id=rate_plan_id,
        product_rate_plan_id=catalog.id,
        product_rate_plan=catalog,
        sequence=len(subscription.rate_plans),
        last_change_type=change,
        charges=[],
    )
    numbers = await _charge_numbers(context, len(catalog.charges))
    for sequence, (charge, number) in enumerate(zip(catalog.charges, numbers, strict=True)):
        rate_plan.charges.append(
            _subscribed_charge(
                context, subscription, charge, overrides.get(charge.id), dates, number, sequence
            )
        )
    subscription.rate_plans.append(rate_plan)
    details: dict[str, Any] = {
        "productRatePlanId": catalog.id,
        "productRatePlanNumber": catalog.product_rate_plan_number,
        "newRatePlanId": rate_plan_id,
    }
    if data.charge_overrides:
        details["chargeOverrides"] = [
            {"productRateplanChargeId": override.product_rate_plan_charge_id}
            | ({"pricing": _plain(override.pricing)} if override.pricing else {})
            for override in data.charge_overrides
        ]
    return details


async def _catalog_rate_plan(context: OrderContext, data: RatePlanSubscription) -> ProductRatePlan:
    key = data.product_rate_plan_id or data.product_rate_plan_number
    assert key is not None
    try:
        catalog = await get_product_rate_plan(context.session, context.tenant_id, key)
    except NotFound:
        field = "productRatePlanId" if data.product_rate_plan_id else "productRatePlanNumber"
        raise InvalidValue(f"{field} {key} does not exist", resource=_ORDER) from None
    number = data.product_rate_plan_number
    if number is not None and catalog.product_rate_plan_number != number:
        raise InvalidValue(
            f"productRatePlanId {catalog.id} and productRatePlanNumber {number} name "
            "different rate plans",
            resource=_ORDER,
        )
    return catalog


def _overrides_by_charge(
    catalog: ProductRatePlan, overrides: list[ChargeOverride]
) -> dict[str, ChargeOverride]:
    charges = {charge.id for charge in catalog.charges}
    by_charge: dict[str, ChargeOverride] = {}
    for override in overrides:
        charge_id = override.product_rate_plan_charge_id
        if charge_id not in charges:
            raise InvalidValue(
                f"productRatePlanChargeId {charge_id} is not a charge of product rate plan "
                f"{catalog.product_rate_plan_number}",
                resource=_ORDER,
            )
        if charge_id in by_charge:
            raise InvalidValue(f"Charge {charge_id} is overridden twice", resource=_ORDER)
        by_charge[charge_id] = override
    return by_charge


async def _charge_numbers(context: OrderContext, count: int) -> list[str]:
    """Charge numbers ``C-00000001``: callers never choose them, so none is taken."""
    if not count:
        return []
    last = await next_value(context.session, context.tenant_id, CHARGE_SEQUENCE, count)
    return [f"C-{value:08d}" for value in range(last - count + 1, last + 1)]


def _subscribed_charge(
    context: OrderContext,
    subscription: Subscription,
    charge: ProductRatePlanCharge,
    override: ChargeOverride | None,
    dates: ActionDates,
    number: str,
    sequence: int,
) -> SubscriptionCharge:
    currency = context.account.currency
    if charge.bill_cycle_type != BillCycleType.DEFAULT_FROM_CUSTOMER:
        raise BusinessRuleViolated(
            f"Charge {charge.product_rate_plan_charge_number} bills on its "
            f"{charge.bill_cycle_type}; only DefaultFromCustomer is supported",
            resource=_ORDER,
        )
    price = charge.price_in(currency)
    if price is None:
        raise BusinessRuleViolated(
            f"Charge {charge.product_rate_plan_charge_number} has no price in {currency}",
            resource=_ORDER,
        )
    model = REST_MODELS[ChargeModel(charge.charge_model)]
    quantity = charge.default_quantity if model == "PerUnit" else None
    pricing = _pricing_override(charge, model, override)
    if pricing is not None:
        price = pricing.list_price if pricing.list_price is not None else price
        if isinstance(pricing, UnitPriceOverride) and pricing.quantity is not None:
            quantity = pricing.quantity
    start = dates.for_event(charge.trigger_event)
    term_end = subscription.term_end_date
    if term_end is not None and start >= term_end:
        raise BusinessRuleViolated(
            f"Charge {charge.product_rate_plan_charge_number} would start on {start}, not "
            f"before the term of subscription {subscription.subscription_number} ends on "
            f"{term_end}",
            resource=_ORDER,
        )
    # A one-time charge is effective on its day, as in Zuora; a recurring one for the term.
    one_time = charge.charge_type == ChargeType.ONE_TIME
    return SubscriptionCharge(
        id=new_id(),
        tenant_id=context.tenant_id,
        charge_number=number,
        segment=1,
        sequence=sequence,
        product_rate_plan_charge_id=charge.id,
        name=charge.name,
        charge_type=charge.charge_type,
        charge_model=model,
        billing_period=charge.billing_period,
        trigger_event=charge.trigger_event,
        uom=charge.uom,
        currency=currency,
        price=price,
        quantity=quantity,
        effective_start_date=start,
        effective_end_date=start + ONE_DAY if one_time else term_end,
        charged_through_date=None,
    )


def _pricing_override(
    charge: ProductRatePlanCharge, model: str, override: ChargeOverride | None
) -> PriceOverride | None:
    """The override's pricing for the charge; one for another type or model is refused."""
    if override is None or override.pricing is None:
        return None
    fitting = _OVERRIDE_FIELDS[(charge.charge_type, model)]
    for field in _OVERRIDE_FIELDS.values():
        if field != fitting and getattr(override.pricing, field) is not None:
            alias = type(override.pricing).model_fields[field].alias
            raise InvalidValue(
                f"Charge {charge.product_rate_plan_charge_number} is a {charge.charge_type} "
                f"{model} charge: its pricing override cannot be {alias}",
                resource=_ORDER,
            )
    return getattr(override.pricing, fitting)


def _rate_plan_of(subscription: Subscription, reference: RatePlanReference) -> SubscriptionRatePlan:
    """The rate plan of ``subscription`` that ``reference`` names: by ``ratePlanId`` (the
    rate plan's ID in any version), or by its product rate plan when it is there once."""
    number = subscription.subscription_number
    if reference.rate_plan_id is not None:
        matches = [
            rate_plan
            for rate_plan in subscription.rate_plans
            if reference.rate_plan_id in (rate_plan.id, rate_plan.original_rate_plan_id)
        ]
        named = f"Rate plan {reference.rate_plan_id}"
    else:
        key = reference.product_rate_plan_id or reference.product_rate_plan_number
        matches = [
            rate_plan
            for rate_plan in subscription.rate_plans
            if key
            in (
                rate_plan.product_rate_plan_id,
                rate_plan.product_rate_plan.product_rate_plan_number,
            )
            and not rate_plan.removed
        ]
        named = f"Product rate plan {key}"
        if len(matches) > 1:
            raise InvalidValue(
                f"{named} is in subscription {number} {len(matches)} times: name it by ratePlanId",
                resource=_ORDER,
            )
    if not matches:
        raise InvalidValue(f"{named} is not in subscription {number}", resource=_ORDER)
    [rate_plan] = matches
    if rate_plan.removed:
        raise BusinessRuleViolated(
            f"{named} was removed from subscription {number}", resource=_ORDER
        )
    return rate_plan


def _reference(rate_plan: SubscriptionRatePlan) -> dict[str, Any]:
    return {
        "ratePlanId": rate_plan.original_rate_plan_id,
        "newRatePlanId": rate_plan.id,
        "productRatePlanId": rate_plan.product_rate_plan_id,
        "productRatePlanNumber": rate_plan.product_rate_plan.product_rate_plan_number,
    }


# Changing, removing, cancelling


def _update(subscription: Subscription, data: UpdateProduct, dates: ActionDates) -> dict[str, Any]:
    """New quantities from the action's date: each charge's last segment ends there and a new
    segment with the new quantity starts, as Zuora segments a charge. The new segment is
    billed from its start; days the old one was billed past it are credited."""
    rate_plan = _rate_plan_of(subscription, data)
    updates = []
    day = dates.contract_effective
    for update in data.charge_updates:
        last = _charge_of(subscription, rate_plan, update)
        _check_quantity_change(last, day)
        quantity = update.pricing.recurring_per_unit.quantity
        rate_plan.charges.append(_next_segment(last, day, quantity))
        rate_plan.charges.sort(key=lambda charge: (charge.sequence, charge.segment))
        last.effective_end_date = day
        updates.append(
            {
                "chargeNumber": last.charge_number,
                "pricing": {"recurringPerUnit": {"quantity": _number(quantity)}},
            }
        )
    rate_plan.last_change_type = ChangeType.UPDATE
    return {**_reference(rate_plan), "chargeUpdates": updates}


def _charge_of(
    subscription: Subscription, rate_plan: SubscriptionRatePlan, update: ChargeUpdate
) -> SubscriptionCharge:
    """The last segment of the rate plan's charge that ``update`` names."""
    for segments in charge_segments(rate_plan):
        last = segments[-1]
        if update.charge_number in (None, last.charge_number) and (
            update.product_rate_plan_charge_id in (None, last.product_rate_plan_charge_id)
        ):
            return last
    named = update.charge_number or update.product_rate_plan_charge_id
    raise InvalidValue(
        f"Charge {named} is not in rate plan {rate_plan.original_rate_plan_id} of subscription "
        f"{subscription.subscription_number}",
        resource=_ORDER,
    )


def _check_quantity_change(last: SubscriptionCharge, day: date) -> None:
    if (last.charge_type, last.charge_model) != ("Recurring", "PerUnit"):
        raise BusinessRuleViolated(
            f"Charge {last.charge_number} is a {last.charge_type} {last.charge_model} charge: "
            "only the quantity of a Recurring PerUnit charge can be updated",
            resource=_ORDER,
        )
    if day < last.effective_start_date:
        raise BusinessRuleViolated(
            f"Charge {last.charge_number} cannot change on {day}, before its last segment "
            f"starts on {last.effective_start_date}",
            resource=_ORDER,
        )
    if last.effective_end_date is not None and day >= last.effective_end_date:
        raise BusinessRuleViolated(
            f"Charge {last.charge_number} cannot change on {day}: it ends on "
            f"{last.effective_end_date}",
            resource=_ORDER,
        )


def _next_segment(last: SubscriptionCharge, day: date, quantity: Decimal) -> SubscriptionCharge:
    table = SubscriptionCharge.__table__
    values = {
        column.key: getattr(last, column.key)
        for column in table.columns
        if column.key not in {"id", "rate_plan_id", "created_at", "updated_at"}
    }
    return SubscriptionCharge(
        **{
            **values,
            "id": new_id(),
            "segment": last.segment + 1,
            "quantity": quantity,
            "effective_start_date": day,
            "charged_through_date": None,
        }
    )


def _end_charges(rate_plan: SubscriptionRatePlan, day: date) -> None:
    """Ends every segment of the rate plan on ``day`` at the latest; a segment that starts
    later is never served."""
    for charge in rate_plan.charges:
        end = day if charge.effective_end_date is None else min(charge.effective_end_date, day)
        charge.effective_end_date = max(charge.effective_start_date, end)


def _remove(subscription: Subscription, data: RatePlanReference, dates: ActionDates) -> dict:
    rate_plan = _rate_plan_of(subscription, data)
    _end_charges(rate_plan, dates.contract_effective)
    rate_plan.last_change_type = ChangeType.REMOVE
    return _reference(rate_plan)


def _cancel(subscription: Subscription, data: CancelSubscription) -> dict[str, Any]:
    number = subscription.subscription_number
    if data.cancellation_policy == "EndOfCurrentTerm":
        if subscription.term_end_date is None:
            raise BusinessRuleViolated(
                f"Subscription {number} is evergreen: it has no term to end; cancel it on a "
                "SpecificDate",
                resource=_ORDER,
            )
        day = subscription.term_end_date
    else:
        assert data.cancellation_effective_date is not None
        day = data.cancellation_effective_date
        if day < subscription.contract_effective_date:
            raise BusinessRuleViolated(
                f"Subscription {number} cannot be cancelled on {day}, before it starts on "
                f"{subscription.contract_effective_date}",
                resource=_ORDER,
            )
        if subscription.term_end_date is not None and day > subscription.term_end_date:
            raise BusinessRuleViolated(
                f"Subscription {number} cannot be cancelled on {day}, after its term ends on "
                f"{subscription.term_end_date}",
                resource=_ORDER,
            )
    for rate_plan in subscription.rate_plans:
        _end_charges(rate_plan, day)
    subscription.status = SubscriptionStatus.CANCELLED
    subscription.cancelled_date = day
    return {
        "cancellationPolicy": data.cancellation_policy,
        "cancellationEffectiveDate": day.isoformat(),
    }


# Terms


def _term_end(start: date, period: int | None, period_type: str) -> date:
    """The end of a term, which leaves a year's room in the calendar for billing."""
    assert period is not None
    try:
        end = term_end_date(start, period, TermPeriodType(period_type))
    except (ValueError, OverflowError):  # past the calendar's last day
        end = None
    if end is None or end > LAST_BILLING_DAY:
        raise InvalidValue(
            f"A term of {period} {period_type} from {start} would end after {LAST_BILLING_DAY}",
            resource=_ORDER,
        )
    return end


def _move_term_end(subscription: Subscription, new_end: date | None) -> None:
    """Moves the term end to ``new_end`` (None: evergreen), and with it the end of every charge
    that ended with the term; removed charges keep their end."""
    old_end = subscription.term_end_date
    subscription.term_end_date = new_end
    for rate_plan in subscription.rate_plans:
        if ends_charges(subscription, rate_plan):
            continue
        for charge in charge_segments(rate_plan):
            last = charge[-1]
            if last.effective_end_date == old_end:
                last.effective_end_date = (
                    None if new_end is None else max(last.effective_start_date, new_end)
                )


def _renew(subscription: Subscription) -> dict[str, Any]:
    """A new current term from the end of the old one, as long as the renewal term, or an
    evergreen subscription when the renewal setting says so."""
    if subscription.term_end_date is None:
        raise BusinessRuleViolated(
            f"Subscription {subscription.subscription_number} is evergreen: it has no term to "
            "renew",
            resource=_ORDER,
        )
    if subscription.renewal_setting == "RENEW_TO_EVERGREEN":
        subscription.term_type = TermType.EVERGREEN
        subscription.current_term = None
        _move_term_end(subscription, None)
        return {}
    if subscription.renewal_term is None:
        raise BusinessRuleViolated(
            f"Subscription {subscription.subscription_number} has no renewal term (it began "
            "evergreen): give it one with a TermsAndConditions action's renewalTerms",
            resource=_ORDER,
        )
    start = subscription.term_end_date
    subscription.term_start_date = start
    subscription.current_term = subscription.renewal_term
    subscription.current_term_period_type = subscription.renewal_term_period_type
    _move_term_end(
        subscription,
        _term_end(start, subscription.renewal_term, subscription.renewal_term_period_type),
    )
    return {}


def _change_terms(subscription: Subscription, data: TermsAndConditions) -> dict[str, Any]:
    if data.auto_renew is not None:
        subscription.auto_renew = data.auto_renew
    if data.renewal_setting is not None:
        subscription.renewal_setting = data.renewal_setting
    if data.renewal_terms:
        [renewal] = data.renewal_terms
        subscription.renewal_term = renewal.period
        subscription.renewal_term_period_type = renewal.period_type
    if data.last_term is not None:
        _change_current_term(subscription, data.last_term)
    return _plain(data)


def _change_current_term(subscription: Subscription, term: LastTerm) -> None:
    """The current term becomes ``term``: evergreen, or termed from its start (or the current
    term's) for its period."""
    if term.start_date is not None:
        subscription.term_start_date = term.start_date
    subscription.term_type = term.term_type
    if term.term_type == TermType.EVERGREEN:
        subscription.current_term = None
        _move_term_end(subscription, None)
        return
    if term.period is None:
        raise MissingField("lastTerm.period is required for a TERMED term", resource=_ORDER)
    period_type = term.period_type or subscription.current_term_period_type
    subscription.current_term = term.period
    subscription.current_term_period_type = period_type
    _move_term_end(subscription, _term_end(subscription.term_start_date, term.period, period_type))


# Details as JSON


def _plain(model: Any) -> dict[str, Any]:
    """A request part as the order answer repeats it: Zuora's names, numbers and ISO dates."""
    return _json(model.model_dump(by_alias=True, exclude_none=True))


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
