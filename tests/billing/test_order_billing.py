"""``processingOptions.runBilling``: invoices of the order's subscriptions up to the target
date, with amounts computed by hand from docs/billing-rules.md (billing in advance, periods
aligned to the bill cycle day, proration by day, credits, rounding per currency)."""

from __future__ import annotations

import pytest

from asyncgate.http.errors import Category
from tests.billing.api import assert_refused, get_account
from tests.billing.orders_api import (
    EVERGREEN,
    action,
    change,
    charges_of,
    create_action,
    get_json,
    make_catalog_plan,
    monthly_fee,
    new_account,
    order_body,
    place,
    quantity_update,
    seats,
    setup_fee,
    subscription,
)

NUMBER = "A-S00000001"


def billing(target: str, document: str = "2024-06-30") -> dict:
    return {
        "processingOptions": {
            "runBilling": True,
            "billingOptions": {"targetDate": target, "documentDate": document},
            "collectPayment": False,
            "allowPaymentFailure": False,
        }
    }


def billed_through(path: str, actions: list[dict], target: str) -> dict:
    """A body for ``path`` that bills ``actions`` through ``target``: an order's
    ``runBilling`` (``/v1/orders``) or a preview's ``BillingDocs`` (``/v1/orders/preview``)."""
    if not path.endswith("preview"):
        return order_body(actions, **billing(target))
    return order_body(
        actions,
        previewAccountInfo={"billCycleDay": 1, "currency": "USD"},
        previewOptions={
            "previewTypes": ["BillingDocs"],
            "previewThruType": "SpecificDate",
            "specificPreviewThruDate": target,
        },
    )


async def items(client, tenant, invoice: str) -> list[tuple[str, str, str, float]]:
    """The invoice's items as (charge name, service start, service end, amount)."""
    answer = await get_json(client, tenant, f"/v1/invoices/{invoice}/items")
    return [
        (item["chargeName"], item["serviceStartDate"], item["serviceEndDate"], item["chargeAmount"])
        for item in answer["invoiceItems"]
    ]


async def invoice_amount(client, tenant, invoice: str) -> float:
    return (await get_json(client, tenant, f"/v1/invoices/{invoice}"))["amount"]


async def balance(client, tenant) -> float:
    return (await get_account(client, tenant, "A00000001"))["metrics"]["balance"]


class TestBillingNewSubscriptions:
    async def test_the_first_period_is_billed_in_advance(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, monthly_fee(100), setup_fee(50))

        answer = await place(client, tenant, [create_action(plan)], **billing("2024-01-01"))

        assert answer["invoiceNumbers"] == ["INV00000001"]
        assert await items(client, tenant, "INV00000001") == [
            ("Subscription fee", "2024-01-01", "2024-01-31", 100),
            ("Setup", "2024-01-01", "2024-01-01", 50),
        ]
        assert await invoice_amount(client, tenant, "INV00000001") == 150
        fee, setup = charges_of(await subscription(client, tenant, NUMBER))
        assert (fee["chargedThroughDate"], setup["chargedThroughDate"]) == (
            "2024-02-01",
            "2024-01-02",
        )
        assert await balance(client, tenant) == 150

    async def test_a_partial_period_before_the_bill_cycle_day_is_prorated_by_day(
        self, client, tenant
    ):
        plan = await make_catalog_plan(client, tenant)

        await place(
            client,
            tenant,
            [create_action(plan, on="2024-01-15")],
            order_date="2024-01-15",
            **billing("2024-02-01"),
        )

        # 100 x 17/31 for January 15 to 31, then February in full.
        assert await items(client, tenant, "INV00000001") == [
            ("Subscription fee Proration", "2024-01-15", "2024-01-31", 54.84),
            ("Subscription fee", "2024-02-01", "2024-02-29", 100),
        ]
        assert await invoice_amount(client, tenant, "INV00000001") == 154.84

    async def test_periods_align_to_the_accounts_bill_cycle_day(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        await place(
            client,
            tenant,
            [create_action(plan, on="2024-03-03")],
            newAccount=new_account(billCycleDay=15),
            order_date="2024-03-03",
            **billing("2024-03-03"),
        )

        # March 3 to 14 of the period February 15 to March 14: 100 x 12/29.
        assert await items(client, tenant, "INV00000001") == [
            ("Subscription fee Proration", "2024-03-03", "2024-03-14", 41.38)
        ]

    async def test_the_term_end_cuts_the_last_period(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, monthly_fee(1200, BillingPeriod="Annual"))

        await place(
            client,
            tenant,
            [create_action(plan, on="2024-03-15")],
            order_date="2024-03-15",
            **billing("2024-04-01"),
        )

        # 1200 x 17/366 for March 15 to 31 (of April 2023 to March 2024), then April 1 2024
        # to the term end, March 15 2025: 348 of the 365 days of that annual period.
        assert await items(client, tenant, "INV00000001") == [
            ("Subscription fee Proration", "2024-03-15", "2024-03-31", 55.74),
            ("Subscription fee Proration", "2024-04-01", "2025-03-14", 1144.11),
        ]

    async def test_amounts_round_to_the_currencys_minor_unit(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, monthly_fee(1000, currency="JPY"))

        await place(
            client,
            tenant,
            [create_action(plan, on="2024-01-15")],
            newAccount=new_account(currency="JPY"),
            order_date="2024-01-15",
            **billing("2024-01-15"),
        )

        # 1000 x 17/31 = 548.39, and yen have no decimals.
        [(_, _, _, amount)] = await items(client, tenant, "INV00000001")
        assert amount == 548
        invoice = await get_json(client, tenant, "/v1/invoices/INV00000001")
        assert (invoice["currency"], invoice["amount"]) == ("JPY", 548)

    async def test_nothing_due_makes_no_invoice(self, client, tenant, database):
        plan = await make_catalog_plan(client, tenant)

        answer = await place(
            client, tenant, [create_action(plan, on="2024-02-01")], **billing("2024-01-31")
        )

        assert answer["invoiceNumbers"] == []
        assert (
            charges_of(await subscription(client, tenant, NUMBER))[0]["chargedThroughDate"] is None
        )

    async def test_only_the_orders_subscriptions_are_billed(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])

        await place(
            client, tenant, [create_action(plan)], account="A00000001", **billing("2024-01-01")
        )

        invoice = await get_json(client, tenant, "/v1/invoices/INV00000001/items")
        assert {item["subscriptionName"] for item in invoice["invoiceItems"]} == {"A-S00000002"}
        assert (
            charges_of(await subscription(client, tenant, NUMBER))[0]["chargedThroughDate"] is None
        )


class TestBillingChanges:
    async def test_a_later_order_bills_only_what_is_new(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        extra = await make_catalog_plan(client, tenant, seats(10, 5), product="Seats")
        await place(client, tenant, [create_action(plan)], **billing("2024-01-01"))

        answer = await place(
            client,
            tenant,
            change(NUMBER, action("AddProduct", {"productRatePlanId": extra.id}, on="2024-01-15")),
            account="A00000001",
            order_date="2024-01-15",
            **billing("2024-02-01"),
        )

        assert answer["invoiceNumbers"] == ["INV00000002"]
        # January's fee is billed already; 5 seats at 10 for January 15 to 31: 50 x 17/31.
        assert await items(client, tenant, "INV00000002") == [
            ("Subscription fee", "2024-02-01", "2024-02-29", 100),
            ("Seats Proration", "2024-01-15", "2024-01-31", 27.42),
            ("Seats", "2024-02-01", "2024-02-29", 50),
        ]
        assert await balance(client, tenant) == pytest.approx(100 + 177.42)

    async def test_a_cancellation_credits_the_billed_days_after_it(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)], **billing("2024-03-01"))

        await place(
            client,
            tenant,
            change(
                NUMBER,
                action(
                    "CancelSubscription",
                    {
                        "cancellationPolicy": "SpecificDate",
                        "cancellationEffectiveDate": "2024-03-16",
                    },
                ),
            ),
            account="A00000001",
            order_date="2024-03-10",
            **billing("2024-03-16"),
        )

        # Billed through March 31; March 16 to 31 given back: -(100 x 16/31).
        assert await items(client, tenant, "INV00000002") == [
            ("Subscription fee Proration Credit", "2024-03-16", "2024-03-31", -51.61)
        ]
        assert await invoice_amount(client, tenant, "INV00000002") == -51.61
        assert await balance(client, tenant) == pytest.approx(300 - 51.61)
        [fee] = charges_of(await subscription(client, tenant, NUMBER))
        assert fee["chargedThroughDate"] == "2024-03-16"

    async def test_a_new_quantity_credits_the_old_and_bills_the_new(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, seats(10, 5))
        await place(client, tenant, [create_action(plan)], **billing("2024-01-01"))

        await place(
            client,
            tenant,
            change(NUMBER, quantity_update(plan, 8, on="2024-01-16")),
            account="A00000001",
            order_date="2024-01-16",
            **billing("2024-01-16"),
        )

        # January 16 to 31 (16 of 31 days): -(50 x 16/31) for 5 seats, 80 x 16/31 for 8.
        assert await items(client, tenant, "INV00000002") == [
            ("Seats Proration Credit", "2024-01-16", "2024-01-31", -25.81),
            ("Seats Proration", "2024-01-16", "2024-01-31", 41.29),
        ]
        assert await invoice_amount(client, tenant, "INV00000002") == pytest.approx(15.48)


class TestLargestAmounts:
    """Amounts past 12 digits before the point are refused (400, category 20): PostgreSQL
    stores no more, and SQLite keeps amounts as doubles, exact only so far. A month of the
    largest price times the largest quantity is 999 998 000 001 USD."""

    @pytest.fixture
    async def plan(self, client, tenant):
        return await make_catalog_plan(client, tenant, seats(999999, quantity=999999))

    @pytest.mark.parametrize("path", ["/v1/orders", "/v1/orders/preview"])
    async def test_an_invoice_past_them_is_refused_and_nothing_is_stored(
        self, client, tenant, plan, path
    ):
        body = billed_through(path, [create_action(plan)], "2024-02-01")

        response = await client.post(path, json=body, headers=tenant.headers)

        assert_refused(response, 400, Category.INVALID_VALUE)
        assert "1000000000000 USD" in response.json()["reasons"][0]["message"]
        missing = await client.get("/v1/accounts/A00000001", headers=tenant.headers)
        assert missing.status_code == 404

    async def test_a_balance_past_them_is_refused(self, client, tenant, plan):
        await place(client, tenant, [create_action(plan)], **billing("2024-01-01"))

        response = await client.post(
            "/v1/orders",
            json=order_body([create_action(plan)], account="A00000001", **billing("2024-01-01")),
            headers=tenant.headers,
        )

        assert_refused(response, 400, Category.INVALID_VALUE)
        assert await balance(client, tenant) == 999998000001

    async def test_a_balance_up_to_them_is_kept_exactly(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, seats("999999.99", quantity="999999.99"))

        await place(client, tenant, [create_action(plan)], **billing("2024-01-01"))

        # 999 999.99 x 999 999.99 = 999 999 980 000.0001, rounded to the cent.
        assert await balance(client, tenant) == 999999980000.00


class TestLargestInvoices:
    """One run bills at most 2,000 items: billing far ahead of a long term is refused (400,
    category 20) once its 2,001st item is rated, rather than kept busy rating, storing and
    answering one item per period."""

    @pytest.mark.parametrize("path", ["/v1/orders", "/v1/orders/preview"])
    async def test_an_invoice_past_them_is_refused_and_nothing_is_stored(
        self, client, tenant, path
    ):
        plan = await make_catalog_plan(client, tenant, monthly_fee(10))
        # 2,001 months from 2024-01-01
        body = billed_through(path, [create_action(plan, terms=EVERGREEN)], "2190-09-01")

        response = await client.post(path, json=body, headers=tenant.headers)

        assert_refused(response, 400, Category.INVALID_VALUE)
        assert "more than 2000 items" in response.json()["reasons"][0]["message"]
        missing = await client.get("/v1/accounts/A00000001", headers=tenant.headers)
        assert missing.status_code == 404

    async def test_an_invoice_of_as_many_is_billed(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, monthly_fee(10))

        await place(client, tenant, [create_action(plan, terms=EVERGREEN)], **billing("2190-08-01"))

        assert await invoice_amount(client, tenant, "INV00000001") == 20000


class TestInvoices:
    async def test_an_invoice_reads_back_by_number_and_id(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, seats(0.0125, 1000))
        await place(
            client,
            tenant,
            [create_action(plan)],
            newAccount=new_account(paymentTerm="Net 30"),
            **billing("2024-01-01", document="2024-01-02"),
        )

        invoice = await get_json(client, tenant, "/v1/invoices/INV00000001")
        by_id = await get_json(client, tenant, f"/v1/invoices/{invoice['id']}")

        assert by_id == invoice
        assert {
            key: invoice[key]
            for key in (
                "invoiceNumber",
                "status",
                "invoiceDate",
                "dueDate",
                "targetDate",
                "amount",
                "amountWithoutTax",
                "taxAmount",
                "balance",
                "includesRecurring",
                "includesOneTime",
            )
        } == {
            "invoiceNumber": "INV00000001",
            "status": "Posted",
            "invoiceDate": "2024-01-02",
            "dueDate": "2024-02-01",
            "targetDate": "2024-01-01",
            "amount": 12.5,
            "amountWithoutTax": 12.5,
            "taxAmount": 0,
            "balance": 12.5,
            "includesRecurring": True,
            "includesOneTime": False,
        }
        [item] = (await get_json(client, tenant, "/v1/invoices/INV00000001/items"))["invoiceItems"]
        # A unit price is never rounded: 1000 units at 0.0125.
        assert (item["quantity"], item["unitPrice"], item["chargeAmount"]) == (1000, 0.0125, 12.5)
        assert (item["subscriptionName"], item["unitOfMeasure"], item["chargeType"]) == (
            NUMBER,
            "Seat",
            "Recurring",
        )

    async def test_items_are_paged(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)], **billing("2024-03-01"))

        first = await client.get(
            "/v1/invoices/INV00000001/items", params={"pageSize": 2}, headers=tenant.headers
        )
        second = await client.get(first.json()["nextPage"], headers=tenant.headers)

        assert [i["serviceStartDate"] for i in first.json()["invoiceItems"]] == [
            "2024-01-01",
            "2024-02-01",
        ]
        assert [i["serviceStartDate"] for i in second.json()["invoiceItems"]] == ["2024-03-01"]
        assert "nextPage" not in second.json()

    async def test_an_unknown_or_foreign_invoice_is_not_found(self, client, tenant, other_tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)], **billing("2024-01-01"))

        assert_refused(await client.get("/v1/invoices/INV09", headers=tenant.headers), 404, 40)
        assert_refused(
            await client.get("/v1/invoices/INV00000001", headers=other_tenant.headers), 404, 40
        )
