"""How far an order preview bills: the preview-through date of its ``previewOptions``.

The preview bills its charges with the preview-through date as target date, so a period is
in the preview when it starts on or before that date (billing in advance).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import Enum
from itertools import islice

from asyncgate.billing.invoices.charges import Charge, ChargeType
from asyncgate.billing.invoices.periods import ONE_DAY, add_months, billing_periods


class PreviewThruType(Enum):
    SPECIFIC_DATE = "SpecificDate"
    NUMBER_OF_PERIODS = "NumberOfPeriods"
    TERM_END = "TermEnd"


class TermPeriodType(Enum):
    MONTH = "Month"
    YEAR = "Year"
    DAY = "Day"
    WEEK = "Week"


def term_end_date(term_start: date, length: int, period_type: TermPeriodType) -> date:
    """The end of a term of ``length`` periods, exclusive, as Zuora's ``termEndDate``: a 12-month
    term from 2024-01-01 ends on 2025-01-01, one from 2024-01-31 of one month on 2024-02-29."""
    if length < 1:
        raise ValueError(f"a term is at least one period long, not {length}")
    match period_type:
        case TermPeriodType.MONTH:
            return add_months(term_start, length)
        case TermPeriodType.YEAR:
            return add_months(term_start, 12 * length)
        case TermPeriodType.WEEK:
            return term_start + timedelta(weeks=length)
        case TermPeriodType.DAY:
            return term_start + timedelta(days=length)


def preview_through_date(
    thru_type: PreviewThruType,
    *,
    charges: Iterable[Charge],
    bill_cycle_day: int,
    specific_date: date | None = None,
    number_of_periods: int | None = None,
    term_end: date | None = None,
) -> date:
    """The target date of a preview.

    - ``SpecificDate``: ``specific_date`` (``specificPreviewThruDate``).
    - ``NumberOfPeriods``: the start of the ``number_of_periods``-th billing period of the
      shortest billing period among the recurring charges still to bill, counted from the
      earliest date one of them is billed from (its start, or its charged-through date) and
      aligned to the bill cycle day; a leading partial period counts as one. With no recurring
      charge to bill, the latest start of a one-time charge.
    - ``TermEnd``: the last day of the term, the day before ``term_end``; invalid for an
      evergreen subscription (``term_end`` None), as in Zuora.
    """
    match thru_type:
        case PreviewThruType.SPECIFIC_DATE:
            if specific_date is None:
                raise ValueError("SpecificDate needs specificPreviewThruDate")
            return specific_date
        case PreviewThruType.NUMBER_OF_PERIODS:
            if number_of_periods is None or number_of_periods < 1:
                raise ValueError("NumberOfPeriods needs previewNumberOfPeriods of 1 or more")
            return _start_of_period(tuple(charges), bill_cycle_day, number_of_periods)
        case PreviewThruType.TERM_END:
            if term_end is None:
                raise ValueError("TermEnd is invalid for an evergreen subscription")
            return term_end - ONE_DAY


def _start_of_period(charges: tuple[Charge, ...], bill_cycle_day: int, number: int) -> date:
    to_bill = [
        charge
        for charge in charges
        if charge.charge_type is ChargeType.RECURRING
        and (charge.end is None or (charge.charged_through or charge.start) < charge.end)
    ]
    if not to_bill:
        one_time = [charge.start for charge in charges if charge.charge_type is ChargeType.ONE_TIME]
        if not one_time:
            raise ValueError("a preview by number of periods needs a charge to bill")
        return max(one_time)
    shortest = min(
        (charge.billing_period for charge in to_bill if charge.billing_period is not None),
        key=lambda period: period.months,
    )
    first = min(charge.charged_through or charge.start for charge in to_bill)
    periods = billing_periods(first, shortest, bill_cycle_day)
    return next(islice(periods, number - 1, None)).start
