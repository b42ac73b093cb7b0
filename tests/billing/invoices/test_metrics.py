"""Charge metrics: MRR, TCV and TCB, against amounts computed by hand and Zuora's examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from asyncgate.billing.invoices.metrics import (
    charge_metrics,
    monthly_recurring_revenue,
    total_contract_value,
    total_contracted_billing,
)
from asyncgate.billing.invoices.periods import BillingPeriod
from tests.billing.invoices.support import one_time, recurring


class TestMonthlyRecurringRevenue:
    @pytest.mark.parametrize(
        ("price", "period", "mrr"),
        [
            ("100", BillingPeriod.MONTH, "100.00"),
            ("300", BillingPeriod.QUARTER, "100.00"),  # 300 / 3
            ("1000", BillingPeriod.ANNUAL, "83.33"),  # 1000 / 12 = 83.333...
        ],
    )
    def test_the_amount_of_a_month(self, price, period, mrr):
        charge = recurring(price, billing_period=period)
        assert monthly_recurring_revenue(charge) == Decimal(mrr)

    def test_per_unit(self):
        # 9.99 x 7 = 69.93 a month
        charge = recurring("9.99", quantity=Decimal(7))
        assert monthly_recurring_revenue(charge) == Decimal("69.93")

    def test_a_one_time_charge_recurs_never(self):
        assert str(monthly_recurring_revenue(one_time())) == "0.00"


class TestTotalContractValue:
    def test_full_months(self):
        # Jan 1 - Mar 1: 2 months x 100 = 200
        charge = recurring("100", end=date(2027, 3, 1), start=date(2027, 1, 1))
        assert total_contract_value(charge) == Decimal("200.00")

    def test_a_trailing_partial_month_counts_its_days(self):
        # Zuora's example: Jan 1 - Feb 15 2027 is 1 month + Feb 1-14, 14 of February's 28 days:
        # 100 x (1 + 14/28) = 150
        charge = recurring("100", start=date(2027, 1, 1), end=date(2027, 2, 15))
        assert total_contract_value(charge) == Decimal("150.00")

    def test_an_annual_charge_over_a_year_is_its_price(self):
        # 1000/12 x 12 = 1000 exactly: the MRR is not rounded before it is multiplied.
        charge = recurring("1000", billing_period=BillingPeriod.ANNUAL, end=date(2025, 1, 1))
        assert total_contract_value(charge) == Decimal("1000.00")

    def test_months_are_counted_from_the_start_date(self):
        # From Jan 31: Feb 29 (2024) and Mar 31 close the first two months; Mar 31 - Apr 15 is
        # 15 days of the 30 from Mar 31 to Apr 30: 100 x (2 + 15/30) = 250
        charge = recurring("100", start=date(2024, 1, 31), end=date(2024, 4, 15))
        assert total_contract_value(charge) == Decimal("250.00")

    def test_a_one_time_charge_is_its_amount(self):
        assert total_contract_value(one_time("50", quantity=Decimal(2))) == Decimal("100.00")

    def test_an_evergreen_charge_has_none(self):
        assert total_contract_value(recurring()) is None


class TestTotalContractedBilling:
    def test_zuoras_quote_example(self):
        # Zuora's quote example: 999.4585400 a month from Oct 31 2016 for 12 months, BCD 1.
        # Billing: Oct 31 is 1/31 of October -> 32.24; Nov 2016 - Sep 2017, 11 x 999.46; Oct 1-30
        # 2017 is 30/31 -> 967.22; 32.24 + 10994.06 + 967.22 = 11993.52.
        # TCV: 999.45854 x 12 = 11993.50248 -> 11993.50, two cents less.
        charge = recurring("999.4585400", start=date(2016, 10, 31), end=date(2017, 10, 31))
        assert total_contracted_billing(charge, 1) == Decimal("11993.52")
        assert total_contract_value(charge) == Decimal("11993.50")

    def test_what_was_billed_already_counts(self):
        charge = recurring("100", end=date(2024, 4, 1), charged_through=date(2024, 3, 1))
        assert total_contracted_billing(charge, 1) == Decimal("300.00")

    def test_a_one_time_charge_is_its_amount(self):
        assert total_contracted_billing(one_time("50"), 1) == Decimal("50.00")

    def test_an_evergreen_charge_has_none(self):
        assert total_contracted_billing(recurring(), 1) is None


class TestChargeMetrics:
    def test_all_metrics_of_a_charge(self):
        # 300 a quarter for a year from Jan 15 2024, BCD 1: MRR 100; TCV 100 x 12 = 1200;
        # TCB: Jan 15-31 is 17/92 of Nov-Jan -> 55.43, three quarters Feb-Oct -> 900,
        # Nov 1 - Jan 14 is 75/92 of Nov-Jan -> 244.565... -> 244.57: 1200.00
        charge = recurring(
            "300",
            key="C-7",
            billing_period=BillingPeriod.QUARTER,
            start=date(2024, 1, 15),
            end=date(2025, 1, 15),
        )
        metrics = charge_metrics(charge, 1)
        assert metrics.charge_key == "C-7"
        assert metrics.mrr == Decimal("100.00")
        assert metrics.tcv == Decimal("1200.00")
        assert metrics.tcb == Decimal("1200.00")
        assert str(metrics.tax) == "0.00"
