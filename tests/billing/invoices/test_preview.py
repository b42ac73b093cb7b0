"""Preview horizons: the target date of an order preview for each ``previewThruType``."""

from __future__ import annotations

from datetime import date

import pytest

from asyncgate.billing.invoices.billrun import bill_charges
from asyncgate.billing.invoices.periods import BillingPeriod
from asyncgate.billing.invoices.preview import (
    PreviewThruType,
    TermPeriodType,
    preview_through_date,
    term_end_date,
)
from tests.billing.invoices.support import one_time, recurring

SPECIFIC_DATE = PreviewThruType.SPECIFIC_DATE
NUMBER_OF_PERIODS = PreviewThruType.NUMBER_OF_PERIODS
TERM_END = PreviewThruType.TERM_END


def through_periods(charges, number, bill_cycle_day=1):
    return preview_through_date(
        NUMBER_OF_PERIODS,
        charges=charges,
        bill_cycle_day=bill_cycle_day,
        number_of_periods=number,
    )


class TestTermEndDate:
    @pytest.mark.parametrize(
        ("start", "length", "period_type", "end"),
        [
            (date(2024, 1, 1), 12, TermPeriodType.MONTH, date(2025, 1, 1)),
            (date(2024, 1, 31), 1, TermPeriodType.MONTH, date(2024, 2, 29)),
            (date(2024, 2, 29), 1, TermPeriodType.YEAR, date(2025, 2, 28)),
            (date(2024, 1, 1), 2, TermPeriodType.WEEK, date(2024, 1, 15)),
            (date(2024, 1, 1), 30, TermPeriodType.DAY, date(2024, 1, 31)),
        ],
    )
    def test_the_end_is_exclusive(self, start, length, period_type, end):
        assert term_end_date(start, length, period_type) == end

    def test_a_term_has_a_length(self):
        with pytest.raises(ValueError, match="at least one"):
            term_end_date(date(2024, 1, 1), 0, TermPeriodType.MONTH)


class TestSpecificDate:
    def test_is_the_date_given(self):
        through = preview_through_date(
            SPECIFIC_DATE, charges=[], bill_cycle_day=1, specific_date=date(2024, 5, 1)
        )
        assert through == date(2024, 5, 1)

    def test_needs_the_date(self):
        with pytest.raises(ValueError, match="specificPreviewThruDate"):
            preview_through_date(SPECIFIC_DATE, charges=[], bill_cycle_day=1)


class TestTermEnd:
    def test_is_the_last_day_of_the_term(self):
        through = preview_through_date(
            TERM_END, charges=[], bill_cycle_day=1, term_end=date(2025, 1, 1)
        )
        assert through == date(2024, 12, 31)

    def test_is_invalid_for_an_evergreen_subscription(self):
        with pytest.raises(ValueError, match="evergreen"):
            preview_through_date(TERM_END, charges=[], bill_cycle_day=1)


class TestNumberOfPeriods:
    def test_counts_periods_of_the_shortest_billing_period(self):
        # Monthly and annual charges from Jan 1: three periods are January to March, so the
        # preview runs to Mar 1 and bills three months and the year.
        charges = [
            recurring(key="C-1"),
            recurring("1200", key="C-2", billing_period=BillingPeriod.ANNUAL),
        ]
        through = through_periods(charges, 3)
        assert through == date(2024, 3, 1)
        invoice = bill_charges(charges, 1, through).invoice
        assert invoice is not None
        assert [item.charge_key for item in invoice.items] == ["C-1", "C-1", "C-1", "C-2"]

    def test_a_leading_partial_period_counts_as_one(self):
        charges = [recurring(start=date(2024, 1, 15))]
        assert through_periods(charges, 1) == date(2024, 1, 15)
        assert through_periods(charges, 2) == date(2024, 2, 1)

    def test_counts_from_the_first_unbilled_period(self):
        charges = [recurring(charged_through=date(2024, 4, 1))]
        assert through_periods(charges, 1) == date(2024, 4, 1)

    def test_follows_the_bill_cycle_day(self):
        charges = [recurring(start=date(2024, 1, 1))]
        assert through_periods(charges, 2, bill_cycle_day=15) == date(2024, 1, 15)

    def test_an_ended_charge_is_not_counted(self):
        charges = [
            recurring(key="C-1", end=date(2024, 2, 1), charged_through=date(2024, 2, 1)),
            recurring(key="C-2", billing_period=BillingPeriod.QUARTER, start=date(2024, 4, 1)),
        ]
        assert through_periods(charges, 2) == date(2024, 7, 1)

    def test_one_time_charges_alone_reach_the_latest(self):
        charges = [one_time(key="C-1"), one_time(key="C-2", start=date(2024, 2, 10))]
        assert through_periods(charges, 1) == date(2024, 2, 10)

    def test_needs_a_number_of_one_or_more(self):
        with pytest.raises(ValueError, match="previewNumberOfPeriods"):
            through_periods([recurring()], 0)

    def test_needs_a_charge(self):
        with pytest.raises(ValueError, match="charge"):
            through_periods([], 1)
