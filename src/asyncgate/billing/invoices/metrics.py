"""Charge metrics, as an order preview's ``ChargeMetrics`` reports them per charge.

MRR (monthly recurring revenue) is a recurring charge's amount per month. TCV (total contract
value) is the MRR times the months the charge is effective, a trailing partial month counted by
its actual days; it follows Zuora's definition and does not depend on how the charge is billed.
TCB (total contracted billing) is what billing will invoice for the charge from its start to its
end, proration and per-item rounding included, so it may differ from TCV by a few minor units.
A charge without end (evergreen) has no TCV or TCB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from asyncgate.billing.invoices.charges import Charge, ChargeType
from asyncgate.billing.invoices.money import round_amount
from asyncgate.billing.invoices.periods import ONE_DAY, add_months
from asyncgate.billing.invoices.rating import rate_charge


@dataclass(frozen=True)
class ChargeMetrics:
    """One charge's metrics, rounded to its currency. ``tax`` is zero: taxes are not
    calculated."""

    charge_key: str
    mrr: Decimal
    tcv: Decimal | None
    tcb: Decimal | None
    tax: Decimal


def charge_metrics(charge: Charge, bill_cycle_day: int) -> ChargeMetrics:
    return ChargeMetrics(
        charge_key=charge.key,
        mrr=monthly_recurring_revenue(charge),
        tcv=total_contract_value(charge),
        tcb=total_contracted_billing(charge, bill_cycle_day),
        tax=round_amount(0, charge.currency),
    )


def monthly_recurring_revenue(charge: Charge) -> Decimal:
    """A recurring charge's period amount over the months of its period (a quarterly fee over 3,
    an annual one over 12); zero for a one-time charge."""
    return round_amount(_exact_mrr(charge), charge.currency)


def total_contract_value(charge: Charge) -> Decimal | None:
    """A one-time charge's amount; for a recurring charge, MRR x the months from its start to
    its end, where months are counted from the start date (January 31, February 28, March 31...)
    and a trailing partial month is its days over the days of the month it begins."""
    if charge.charge_type is ChargeType.ONE_TIME:
        return round_amount(charge.period_amount, charge.currency)
    if charge.end is None:
        return None
    return round_amount(
        _exact_mrr(charge) * _months_between(charge.start, charge.end), charge.currency
    )


def total_contracted_billing(charge: Charge, bill_cycle_day: int) -> Decimal | None:
    """The sum of the invoice items billing creates for the charge over its whole life."""
    if charge.charge_type is ChargeType.RECURRING and charge.end is None:
        return None
    unbilled = replace(charge, charged_through=None)
    last_day = charge.start if charge.end is None else max(charge.start, charge.end - ONE_DAY)
    items = rate_charge(unbilled, bill_cycle_day, last_day).items
    return sum((item.amount for item in items), round_amount(0, charge.currency))


def total_unless_evergreen(amounts: Iterable[Decimal | None], zero: Decimal) -> Decimal | None:
    """The sum of several charges' (or segments') TCVs or TCBs, starting from ``zero``; None
    when one of them has none (an evergreen charge)."""
    total = zero
    for amount in amounts:
        if amount is None:
            return None
        total += amount
    return total


def _exact_mrr(charge: Charge) -> Fraction:
    if charge.billing_period is None:
        return Fraction(0)
    return charge.period_amount / charge.billing_period.months


def _months_between(start: date, end: date) -> Fraction:
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    month_start, month_end = add_months(start, months), add_months(start, months + 1)
    return months + Fraction((end - month_start).days, (month_end - month_start).days)
