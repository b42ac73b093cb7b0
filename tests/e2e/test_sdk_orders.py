"""Orders through the real Zuora SDK: a catalog built with its object API, an order for a new
account placed, read back and previewed with ``OrdersApi``, its subscription read with
``SubscriptionsApi`` and its invoice with ``InvoicesApi``, and the order deleted.

Every answer is deserialized by the SDK and its raw body checked against the model the SDK
declares for it (``assert_shape``). The server's tenant is shared by the whole run, so the
tests read numbers from the answers rather than assume them.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.e2e.sdk import assert_refused, body_of, models, quiet_sdk, zuora_sdk
from tests.e2e.shapes import ZUORA_ID, assert_shape
from tests.e2e.test_sdk_catalog import charge_request, created, new_product, new_rate_plan

pytestmark = [pytest.mark.e2e, quiet_sdk]

ORDER_NUMBER = re.compile(r"^O-\d{8}$")
SUBSCRIPTION_NUMBER = re.compile(r"^A-S\d{8}$")
INVOICE_NUMBER = re.compile(r"^INV\d{8}$")
START = date(2024, 1, 15)
# The SDK declares these strings; Zuora writes them as numbers, and so do we.
ITEM_NUMBERS = ("chargeAmount", "taxAmount", "balance")


@pytest.fixture
def orders(sdk) -> zuora_sdk.OrdersApi:
    return zuora_sdk.OrdersApi(sdk)


@pytest.fixture
def subscriptions(sdk) -> zuora_sdk.SubscriptionsApi:
    return zuora_sdk.SubscriptionsApi(sdk)


@pytest.fixture
def rate_plan_id(sdk) -> str:
    """A catalog rate plan made through the SDK: a monthly fee of 100 USD."""
    product_id, _ = new_product(zuora_sdk.ProductsApi(sdk))
    rate_plan_id = new_rate_plan(zuora_sdk.ProductRatePlansApi(sdk), product_id)
    charges = zuora_sdk.ProductRatePlanChargesApi(sdk)
    created(
        charges.create_product_rate_plan_charge_with_http_info(
            charge_request(rate_plan_id, product_rate_plan_charge_tier_data=_usd(100))
        )
    )
    return rate_plan_id


def _usd(price: float) -> zuora_sdk.ProductRatePlanChargeTierData:
    return zuora_sdk.ProductRatePlanChargeTierData(
        product_rate_plan_charge_tier=[
            zuora_sdk.ProductRatePlanChargeTier(currency="USD", price=price)
        ]
    )


def _on(day: date) -> list[models.TriggerDate]:
    return [models.TriggerDate(name="ContractEffective", trigger_date=day)]


def new_order(rate_plan_id: str) -> models.CreateOrderRequest:
    """A new account subscribing from January 15, 2024 for 12 months, billed to February 1."""
    return models.CreateOrderRequest(
        order_date=START,
        new_account=models.OrderCreateAccount(
            name="SDK Orders",
            currency="USD",
            bill_cycle_day=1,
            bill_to_contact=models.OrderCreateAccountContact(
                first_name="Ada", last_name="Lovelace"
            ),
        ),
        subscriptions=[
            models.CreateOrderSubscription(
                order_actions=[
                    models.CreateOrderAction(
                        type="CreateSubscription",
                        trigger_dates=_on(START),
                        create_subscription=models.CreateOrderCreateSubscription(
                            subscribe_to_rate_plans=[
                                models.CreateOrderRatePlanOverride(
                                    product_rate_plan_id=rate_plan_id
                                )
                            ],
                            terms=models.OrderActionCreateSubscriptionTerms(
                                initial_term=models.InitialTerm(
                                    term_type="TERMED", period=12, period_type="Month"
                                ),
                                renewal_terms=[models.RenewalTerm(period=12, period_type="Month")],
                                auto_renew=True,
                                renewal_setting="RENEW_WITH_SPECIFIC_TERM",
                            ),
                        ),
                    )
                ]
            )
        ],
        processing_options=models.ProcessingOptionsWithDelayedCapturePayment(
            run_billing=True, billing_options=models.BillingOptions(target_date=date(2024, 2, 1))
        ),
    )


def new_preview(rate_plan_id: str) -> models.PreviewOrderRequest:
    """The same subscription previewed for a new account, billed through February 1."""
    return models.PreviewOrderRequest(
        order_date=START,
        preview_account_info=models.PreviewAccountInfo(bill_cycle_day=1, currency="USD"),
        preview_options=models.PreviewOptions(
            preview_thru_type="SpecificDate",
            preview_types=["BillingDocs", "ChargeMetrics"],
            specific_preview_thru_date=date(2024, 2, 1),
        ),
        subscriptions=[
            models.PreviewOrderSubscriptions(
                order_actions=[
                    models.PreviewOrderOrderAction(
                        type="CreateSubscription",
                        trigger_dates=_on(START),
                        create_subscription=models.PreviewOrderCreateSubscription(
                            subscribe_to_rate_plans=[
                                models.PreviewOrderRatePlanOverride(
                                    product_rate_plan_id=rate_plan_id
                                )
                            ],
                            terms=models.PreviewOrderCreateSubscriptionTerms(
                                initial_term=models.InitialTerm(
                                    term_type="TERMED", period=12, period_type="Month"
                                )
                            ),
                        ),
                    )
                ]
            )
        ],
    )


def place(orders: zuora_sdk.OrdersApi, rate_plan_id: str) -> dict:
    answer = orders.create_order_with_http_info(new_order(rate_plan_id))
    body = body_of(answer)
    assert_shape(
        body,
        models.CreateOrderResponse,
        ["success", "orderNumber", "accountNumber", "status", "subscriptions", "invoiceNumbers"],
    )
    assert answer.data.order_number == body["orderNumber"]
    return body


class TestOrdersThroughTheSdk:
    def test_an_order_creates_an_account_subscription_and_invoice(
        self, sdk, orders, subscriptions, rate_plan_id
    ):
        body = place(orders, rate_plan_id)

        assert ORDER_NUMBER.match(body["orderNumber"])
        [outcome] = body["subscriptions"]
        assert SUBSCRIPTION_NUMBER.match(outcome["subscriptionNumber"])
        assert outcome["status"] == "Active"
        [invoice_number] = body["invoiceNumbers"]
        assert INVOICE_NUMBER.match(invoice_number)

        order = body_of(orders.get_order_with_http_info(body["orderNumber"]))
        assert_shape(
            order,
            models.GetOrderResponse,
            ["success", "order.orderNumber", "order.subscriptions", "order.existingAccountNumber"],
        )
        [entry] = order["order"]["subscriptions"]
        assert (entry["subscriptionNumber"], entry["newVersion"]) == (
            outcome["subscriptionNumber"],
            1,
        )
        [create] = entry["orderActions"]
        assert create["createSubscription"]["subscribeToRatePlans"][0]["productRatePlanId"] == (
            rate_plan_id
        )

        read = subscriptions.get_subscription_by_key_with_http_info(outcome["subscriptionNumber"])
        subscription = body_of(read)
        assert_shape(
            subscription,
            models.GetSubscriptionResponse,
            ["id", "subscriptionNumber", "status", "termEndDate", "ratePlans", "contractedMrr"],
        )
        assert read.data.account_number == body["accountNumber"]
        assert (subscription["termStartDate"], subscription["termEndDate"]) == (
            "2024-01-15",
            "2025-01-15",
        )
        [charge] = subscription["ratePlans"][0]["ratePlanCharges"]
        assert (charge["price"], charge["chargedThroughDate"]) == (100, "2024-03-01")

        listed = subscriptions.get_subscriptions_by_account_with_http_info(body["accountNumber"])
        assert_shape(body_of(listed), models.GetSubscriptionsResponse, ["success", "subscriptions"])
        assert [s.subscription_number for s in listed.data.subscriptions] == [
            outcome["subscriptionNumber"]
        ]

        invoices = zuora_sdk.InvoicesApi(sdk)
        invoice = body_of(invoices.get_invoice_with_http_info(invoice_number))
        assert_shape(invoice, models.InvoiceResponse, ["id", "invoiceNumber", "amount", "balance"])
        assert ZUORA_ID.match(invoice["id"])
        # January 15 to 31 (100 x 17/31) and February, billed in advance to February 1.
        assert invoice["amount"] == 154.84
        items = body_of(invoices.get_invoice_items_with_http_info(invoice_number))
        assert_shape(items, models.InvoiceItemsResponse, ["invoiceItems"], numbers=ITEM_NUMBERS)
        assert [item["chargeAmount"] for item in items["invoiceItems"]] == [54.84, 100]

    def test_an_order_is_previewed_without_being_placed(self, orders, subscriptions, rate_plan_id):
        request = new_preview(rate_plan_id)

        answer = orders.preview_order_with_http_info(request)

        body = body_of(answer)
        assert_shape(body, models.PreviewOrderResponse, ["success", "previewResult.invoices"])
        [invoice] = answer.data.preview_result.invoices
        assert invoice.amount == 154.84
        assert [item.amount_without_tax for item in invoice.invoice_items] == [54.84, 100]
        [metrics] = body["previewResult"]["chargeMetrics"]
        assert metrics["charges"][0]["cmrr"]["regular"] == 100
        unplaced = subscriptions.get_subscription_by_key_with_http_info(
            metrics["subscriptionNumber"]
        )
        assert_refused(unplaced, category=40)

    def test_a_deleted_order_takes_its_subscription_and_invoice(
        self, sdk, orders, subscriptions, rate_plan_id
    ):
        body = place(orders, rate_plan_id)
        [outcome] = body["subscriptions"]

        answer = orders.delete_order_with_http_info(body["orderNumber"])

        assert_shape(body_of(answer), models.CommonResponse, ["success"])
        assert answer.data.success is True
        assert_refused(orders.get_order_with_http_info(body["orderNumber"]), category=40)
        gone = subscriptions.get_subscription_by_key_with_http_info(outcome["subscriptionNumber"])
        assert_refused(gone, category=40)
        invoice = zuora_sdk.InvoicesApi(sdk).get_invoice_with_http_info(body["invoiceNumbers"][0])
        assert_refused(invoice, category=40)

    def test_a_refused_order_tells_why(self, orders):
        refused = assert_refused(
            orders.create_order_with_http_info(new_order("0" * 32)), category=20
        )

        assert "productRatePlanId" in refused.reasons[0].message
