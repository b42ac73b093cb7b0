"""``POST /v1/orders/preview``: the invoice and charge metrics an order would give, through
the date its preview options name, and nothing stored or changed."""

from __future__ import annotations

import pytest

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.invoices.models import Invoice, InvoiceItem
from asyncgate.billing.orders.models import Order, OrderAction
from asyncgate.billing.subscriptions.models import Subscription, SubscriptionCharge
from tests.billing.api import assert_refused, get_account
from tests.billing.orders_api import (
    EVERGREEN,
    action,
    change,
    create_action,
    make_catalog_plan,
    order_body,
    place,
    quantity_update,
    seats,
    subscription,
    termed,
)
from tests.crud.support import count

NEW_ACCOUNT = {"previewAccountInfo": {"billCycleDay": 1, "currency": "USD"}}
MODELS = (Account, Order, OrderAction, Subscription, SubscriptionCharge, Invoice, InvoiceItem)


def options(*types: str, **horizon) -> dict:
    return {"previewOptions": {"previewTypes": list(types), **horizon}}


def through(day: str) -> dict:
    return {"previewThruType": "SpecificDate", "specificPreviewThruDate": day}


async def preview(client, tenant, body: dict) -> dict:
    response = await client.post("/v1/orders/preview", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True
    return answer["previewResult"]


def metrics_of(charge: dict, side: str = "regular") -> tuple:
    """A charge's (cmrr, tcv, tcb) after the order (``regular``) or their change
    (``regularDelta``)."""
    return tuple(charge[name][side] for name in ("cmrr", "tcv", "tcb"))


def item_rows(invoice: dict) -> list[tuple[str, str, str, float]]:
    return [
        (i["chargeName"], i["serviceStartDate"], i["serviceEndDate"], i["amountWithoutTax"])
        for i in invoice["invoiceItems"]
    ]


class TestBillingDocs:
    async def test_a_new_subscription_is_previewed_through_a_date(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        result = await preview(
            client,
            tenant,
            order_body(
                [create_action(plan, on="2024-01-15")],
                **NEW_ACCOUNT,
                **options("BillingDocs", **through("2024-02-01")),
            ),
        )

        [invoice] = result["invoices"]
        assert (invoice["targetDate"], invoice["amount"], invoice["taxAmount"]) == (
            "2024-02-01",
            154.84,
            0,
        )
        assert item_rows(invoice) == [
            ("Subscription fee Proration", "2024-01-15", "2024-01-31", 54.84),
            ("Subscription fee", "2024-02-01", "2024-02-29", 100),
        ]
        first = invoice["invoiceItems"][0]
        assert (first["subscriptionNumber"], first["chargeNumber"], first["productName"]) == (
            "A-S00000001",
            "C-00000001",
            "Gold",
        )
        assert "chargeMetrics" not in result

    @pytest.mark.parametrize(
        ("horizon", "months"),
        [
            ({"previewThruType": "NumberOfPeriods", "previewNumberOfPeriods": 3}, 3),
            ({"previewThruType": "TermEnd"}, 12),
        ],
        ids=["three periods", "the term"],
    )
    async def test_a_preview_reaches_a_number_of_periods_or_the_term_end(
        self, client, tenant, horizon, months
    ):
        plan = await make_catalog_plan(client, tenant)

        result = await preview(
            client,
            tenant,
            order_body([create_action(plan)], **NEW_ACCOUNT, **options("BillingDocs", **horizon)),
        )

        [invoice] = result["invoices"]
        assert len(invoice["invoiceItems"]) == months
        assert invoice["amount"] == 100 * months

    async def test_an_existing_subscription_previews_only_what_is_not_billed(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        extra = await make_catalog_plan(client, tenant, seats(10, 5), product="Seats")
        await place(
            client,
            tenant,
            [create_action(plan)],
            processingOptions={"runBilling": True, "billingOptions": {"targetDate": "2024-01-01"}},
        )

        result = await preview(
            client,
            tenant,
            order_body(
                change(
                    "A-S00000001",
                    action("AddProduct", {"productRatePlanId": extra.id}, on="2024-01-15"),
                ),
                account="A00000001",
                **options("BillingDocs", **through("2024-01-31")),
            ),
        )

        [invoice] = result["invoices"]
        assert item_rows(invoice) == [("Seats Proration", "2024-01-15", "2024-01-31", 27.42)]

    async def test_nothing_to_bill_previews_no_invoice(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        result = await preview(
            client,
            tenant,
            order_body(
                [create_action(plan, on="2024-03-01")],
                **NEW_ACCOUNT,
                **options("BillingDocs", **through("2024-02-01")),
            ),
        )

        assert result["invoices"] == []


class TestChargeMetrics:
    async def test_a_new_charges_metrics_are_all_new(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        result = await preview(
            client,
            tenant,
            order_body([create_action(plan)], **NEW_ACCOUNT, **options("ChargeMetrics")),
        )

        assert "invoices" not in result
        [metrics] = result["chargeMetrics"]
        assert metrics["subscriptionNumber"] == "A-S00000001"
        [charge] = metrics["charges"]
        assert (charge["chargeNumber"], charge["productRatePlanId"]) == ("C-00000001", plan.id)
        assert charge["productRatePlanChargeId"] == plan.charge_ids[0]
        assert metrics_of(charge) == metrics_of(charge, "regularDelta") == (100, 1200, 1200)
        assert charge["tax"]["regular"] == 0

    async def test_a_change_reports_its_deltas(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, seats(10, 5))
        await place(client, tenant, [create_action(plan)])

        result = await preview(
            client,
            tenant,
            order_body(
                change("A-S00000001", quantity_update(plan, 8, on="2024-03-01")),
                account="A00000001",
                **options("ChargeMetrics"),
            ),
        )

        [charge] = result["chargeMetrics"][0]["charges"]
        # 5 seats at 10 for January and February, 8 from March to December.
        assert metrics_of(charge) == (80, 900, 900)
        assert metrics_of(charge, "regularDelta") == (30, 300, 300)

    async def test_an_evergreen_charge_has_no_total_values(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        result = await preview(
            client,
            tenant,
            order_body(
                [create_action(plan, terms=EVERGREEN)], **NEW_ACCOUNT, **options("ChargeMetrics")
            ),
        )

        [charge] = result["chargeMetrics"][0]["charges"]
        assert metrics_of(charge) == (100, None, None)


class TestNothingChanges:
    async def test_a_preview_stores_nothing_and_takes_no_numbers(self, client, tenant, database):
        plan = await make_catalog_plan(client, tenant)
        before = [await count(database, model, tenant) for model in MODELS]

        await preview(
            client,
            tenant,
            order_body(
                [create_action(plan)],
                **NEW_ACCOUNT,
                **options("BillingDocs", "ChargeMetrics", **through("2024-03-01")),
            ),
        )

        assert [await count(database, model, tenant) for model in MODELS] == before
        placed = await place(client, tenant, [create_action(plan)])
        assert (placed["orderNumber"], placed["accountNumber"], placed["subscriptionNumbers"]) == (
            "O-00000001",
            "A00000001",
            ["A-S00000001"],
        )

    async def test_a_previewed_change_leaves_the_subscription_and_account_as_they_were(
        self, client, tenant
    ):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])
        subscription_before = await subscription(client, tenant, "A-S00000001")
        account_before = await get_account(client, tenant, "A00000001")

        await preview(
            client,
            tenant,
            order_body(
                change(
                    "A-S00000001",
                    action("CancelSubscription", {"cancellationPolicy": "EndOfCurrentTerm"}),
                ),
                account="A00000001",
                **options("BillingDocs", "ChargeMetrics", **through("2024-06-01")),
            ),
        )

        assert await subscription(client, tenant, "A-S00000001") == subscription_before
        assert await get_account(client, tenant, "A00000001") == account_before


REFUSALS = {
    "no thru type": (options("BillingDocs"), 400, 22),
    "no specific date": (options("BillingDocs", previewThruType="SpecificDate"), 400, 22),
    "no number of periods": (options("BillingDocs", previewThruType="NumberOfPeriods"), 400, 22),
    "no preview type": (options(), 400, 20),
    "unsupported preview type": (options("OrderMetrics"), 400, 20),
    "unknown option": (
        {"previewOptions": {"previewTypes": ["ChargeMetrics"], "skipTax": True}},
        400,
        21,
    ),
}


class TestRefusedPreviews:
    @pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
    async def test_preview_options_are_checked(self, client, tenant, case):
        plan = await make_catalog_plan(client, tenant)
        preview_options, status, category = REFUSALS[case]

        response = await client.post(
            "/v1/orders/preview",
            json=order_body([create_action(plan)], **NEW_ACCOUNT, **preview_options),
            headers=tenant.headers,
        )

        assert_refused(response, status, category)

    async def test_the_term_end_of_an_evergreen_subscription_is_refused(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        response = await client.post(
            "/v1/orders/preview",
            json=order_body(
                [create_action(plan, terms=EVERGREEN)],
                **NEW_ACCOUNT,
                **options("BillingDocs", previewThruType="TermEnd"),
            ),
            headers=tenant.headers,
        )

        assert "evergreen" in assert_refused(response, 400, 30)["reasons"][0]["message"]

    async def test_an_order_that_would_be_refused_is_refused_in_preview(
        self, client, tenant, database
    ):
        before = [await count(database, model, tenant) for model in MODELS]

        both = await client.post(
            "/v1/orders/preview",
            json=order_body(
                [create_action({"productRatePlanId": "0" * 32}, terms=termed())],
                account="A00000001",
                **NEW_ACCOUNT,
                **options("ChargeMetrics"),
            ),
            headers=tenant.headers,
        )
        unknown = await client.post(
            "/v1/orders/preview",
            json=order_body(
                [create_action({"productRatePlanId": "0" * 32})],
                **NEW_ACCOUNT,
                **options("ChargeMetrics"),
            ),
            headers=tenant.headers,
        )

        assert_refused(both, 400, 20)
        assert "does not exist" in assert_refused(unknown, 400, 20)["reasons"][0]["message"]
        assert [await count(database, model, tenant) for model in MODELS] == before
