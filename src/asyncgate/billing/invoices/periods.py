"""Billing periods of recurring charges, aligned to the account's bill cycle day (BCD).

All ranges are half-open: a period runs from its start date up to, not including, its end
date. Zuora's ``serviceEndDate`` is the last day served, ``ServicePeriod.last_day``.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta
from enum import Enum
from fractions import Fraction

ONE_DAY = timedelta(days=1)
# The dates billing starts and ends on: a year's room on each side of them, so that every
# period it needs (a year long at most) and the month after a term stay in the calendar.
FIRST_BILLING_DAY = date(1900, 1, 1)
LAST_BILLING_DAY = date(9998, 12, 31)


class OutsideTheCalendar(ValueError):
    """Billing needs a date before 0001-01-01 or after 9999-12-31."""


class BillingPeriod(Enum):
    MONTH = "Month"
    QUARTER = "Quarter"
    ANNUAL = "Annual"

    @property
    def months(self) -> int:
        return _MONTHS[self]


_MONTHS = {BillingPeriod.MONTH: 1, BillingPeriod.QUARTER: 3, BillingPeriod.ANNUAL: 12}


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _day_in_month(month_index: int, day: int) -> date:
    """Day ``day`` of the month, or the month's last day when the month is shorter."""
    year, month = divmod(month_index, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise OutsideTheCalendar(f"year {year} is out of range")
    return date(year, month + 1, min(day, monthrange(year, month + 1)[1]))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day: January 31 plus one month is
    February 28 (29 in a leap year)."""
    return _day_in_month(_month_index(day) + months, day.day)


def bill_cycle_date(year: int, month: int, bill_cycle_day: int) -> date:
    """The month's bill cycle date: day ``bill_cycle_day``, or the month's last day when the month
    is shorter (BCD 31 is April 30; BCD 29, 30 and 31 are February 28, or 29 in a leap year)."""
    check_bill_cycle_day(bill_cycle_day)
    return _day_in_month(year * 12 + month - 1, bill_cycle_day)


def check_bill_cycle_day(bill_cycle_day: int) -> None:
    if not 1 <= bill_cycle_day <= 31:
        raise ValueError(f"a bill cycle day is 1 to 31, not {bill_cycle_day}")


@dataclass(frozen=True)
class ServicePeriod:
    """The days ``start`` to ``end`` (exclusive) of the full billing period ``full_start`` to
    ``full_end`` (exclusive) that holds them; a partial period is billed for its share of the
    full one."""

    start: date
    end: date
    full_start: date
    full_end: date

    @property
    def last_day(self) -> date:
        return self.end - ONE_DAY

    @property
    def is_full(self) -> bool:
        return self.start == self.full_start and self.end == self.full_end

    @property
    def share(self) -> Fraction:
        """Days served over days of the full period: the proration factor, exact."""
        return Fraction((self.end - self.start).days, (self.full_end - self.full_start).days)

    def within(self, start: date, end: date) -> ServicePeriod | None:
        """The days of this period from ``start`` to ``end`` (exclusive), or None if none are."""
        start, end = max(start, self.start), min(end, self.end)
        if start >= end:
            return None
        return ServicePeriod(start, end, self.full_start, self.full_end)


def billing_periods(
    start: date, billing_period: BillingPeriod, bill_cycle_day: int, end: date | None = None
) -> Iterator[ServicePeriod]:
    """The service periods of a recurring charge that starts on ``start``, in order, up to
    ``end`` (exclusive; None for a charge without end, whose periods never stop).

    The first bill cycle date on or after ``start`` opens the first full period. When that date
    is later than ``start``, the days before it are a leading partial period, part of the full
    period that ends on that date. Full periods follow, each ``billing_period.months`` bill cycle
    dates long; the last one is cut short at ``end``.
    """
    check_bill_cycle_day(bill_cycle_day)
    months = billing_period.months
    first = _month_index(start)
    if _day_in_month(first, bill_cycle_day) < start:
        first += 1

    def boundary(k: int) -> date:
        return _day_in_month(first + k * months, bill_cycle_day)

    def cut(period_end: date) -> date:
        return period_end if end is None else min(period_end, end)

    if end is not None and end <= start:
        return
    if boundary(0) > start:
        yield ServicePeriod(start, cut(boundary(0)), boundary(-1), boundary(0))
    k = 0
    while end is None or boundary(k) < end:
        yield ServicePeriod(boundary(k), cut(boundary(k + 1)), boundary(k), boundary(k + 1))
        k += 1
