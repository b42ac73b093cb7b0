"""What one bill run charges, or credits, for one charge: invoice items and how far it is billed.

Recurring charges are billed in advance: a run with target date T bills every period that
starts on or before T and is not billed yet. A period shorter than its full billing period is
prorated by day: amount x days served / days of the full period. Each item's amount is rounded
to the currency once; nothing before it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from fractions import Fraction

from asyncgate.billing.invoices.charges import Charge, ChargeType
from asyncgate.billing.invoices.money import round_amount
from asyncgate.billing.invoices.periods import ONE_DAY, ServicePeriod, billing_periods


class ItemKind(Enum):
    """What an item bills. Zuora ends the charge name of the last three kinds with
    "Proration", "Proration Credit" and "Credit"."""

    CHARGE = "Charge"  # a one-time charge or a full period
    PRORATION = "Proration"  # part of a period
    PRORATION_CREDIT = "ProrationCredit"  # part of a billed period given back
    CREDIT = "Credit"  # a whole billed period given back


@dataclass(frozen=True)
class InvoiceItem:
    """One line of an invoice. ``service_end`` is the last day served, inclusive, as Zuora's
    ``serviceEndDate``; ``amount`` is rounded to the currency and negative for a credit."""

    charge_key: str
    kind: ItemKind
    service_start: date
    service_end: date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class RatedCharge:
    """The items a run bills for a charge and the charge's charged-through date after it."""

    items: tuple[InvoiceItem, ...]
    charged_through: date | None


class TooManyItems(ValueError):
    """Rating a charge would make more items than the caller allows."""


def rate_charge(
    charge: Charge, bill_cycle_day: int, target_date: date, *, at_most: int | None = None
) -> RatedCharge:
    """The items a bill run with target date ``target_date`` creates for ``charge``; more than
    ``at_most`` raise ``TooManyItems`` as soon as the one too many is rated.

    Only what is not billed yet is billed, so running again with the same target date adds
    nothing. A recurring charge billed past its end date (cancelled or removed after billing)
    is credited the billed days from the end date on, once the target date reaches the end
    date. A one-time charge is billed once, when the target date reaches its start, and is not
    credited when it is cancelled (Zuora's default).
    """
    if charge.charge_type is ChargeType.ONE_TIME:
        return _rate_one_time(charge, target_date, at_most)
    if charge.billed_past_end:
        assert charge.end is not None
        if target_date < charge.end:
            return RatedCharge((), charge.charged_through)
        return _credit_unused(charge, bill_cycle_day, at_most)
    return _bill_periods(charge, bill_cycle_day, target_date, at_most)


def _rate_one_time(charge: Charge, target_date: date, at_most: int | None) -> RatedCharge:
    removed_unstarted = charge.end is not None and charge.end <= charge.start
    if charge.charged_through is not None or charge.start > target_date or removed_unstarted:
        return RatedCharge((), charge.charged_through)
    _check_room(0, at_most)
    item = _item(charge, ItemKind.CHARGE, charge.start, charge.start, charge.period_amount)
    return RatedCharge((item,), charge.start + ONE_DAY)


def _bill_periods(
    charge: Charge, bill_cycle_day: int, target_date: date, at_most: int | None
) -> RatedCharge:
    assert charge.billing_period is not None
    billed_from = charge.charged_through or charge.start
    items: list[InvoiceItem] = []
    charged_through = charge.charged_through
    for period in billing_periods(charge.start, charge.billing_period, bill_cycle_day, charge.end):
        unbilled = period.within(billed_from, period.end)
        if unbilled is None:
            continue
        if unbilled.start > target_date:
            break
        kind = ItemKind.CHARGE if unbilled.is_full else ItemKind.PRORATION
        _check_room(len(items), at_most)
        items.append(_period_item(charge, unbilled, kind, credit=False))
        charged_through = unbilled.end
    return RatedCharge(tuple(items), charged_through)


def _credit_unused(charge: Charge, bill_cycle_day: int, at_most: int | None) -> RatedCharge:
    """Credits, period by period, the days billed from the end date to the charged-through date,
    each at the share of its full period it was billed at."""
    assert charge.billing_period is not None
    assert charge.end is not None and charge.charged_through is not None
    items: list[InvoiceItem] = []
    for period in billing_periods(charge.start, charge.billing_period, bill_cycle_day):
        if period.start >= charge.charged_through:
            break
        unused = period.within(charge.end, charge.charged_through)
        if unused is not None:
            kind = ItemKind.CREDIT if unused.is_full else ItemKind.PRORATION_CREDIT
            _check_room(len(items), at_most)
            items.append(_period_item(charge, unused, kind, credit=True))
    return RatedCharge(tuple(items), charge.end)


def _check_room(rated: int, at_most: int | None) -> None:
    """Called before another item is rated: ``TooManyItems`` if ``rated`` items are as many
    as allowed already."""
    if at_most is not None and rated >= at_most:
        raise TooManyItems(f"more than {at_most} items")


def _period_item(
    charge: Charge, period: ServicePeriod, kind: ItemKind, *, credit: bool
) -> InvoiceItem:
    amount = charge.period_amount * period.share
    return _item(charge, kind, period.start, period.last_day, -amount if credit else amount)


def _item(
    charge: Charge, kind: ItemKind, service_start: date, service_end: date, amount: Fraction
) -> InvoiceItem:
    return InvoiceItem(
        charge_key=charge.key,
        kind=kind,
        service_start=service_start,
        service_end=service_end,
        quantity=charge.billed_quantity,
        unit_price=charge.price,
        amount=round_amount(amount, charge.currency),
    )
