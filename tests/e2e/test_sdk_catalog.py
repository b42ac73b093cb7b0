"""The product catalog through the real Zuora SDK: built with its object API
(``ProductsApi``, ``ProductRatePlansApi``, ``ProductRatePlanChargesApi``) and read back with its
catalog calls, whose models must take our answers.

The SDK sends ``Zuora-Version: 2025-08-12``, so a product's ``productRatePlans`` is the URL of
its rate plans, which ``get_rate_plans_by_product`` reads.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest

from tests.e2e.sdk import body_of, exceptions, models, quiet_sdk, zuora_sdk
from tests.e2e.shapes import ZUORA_ID, assert_shape

pytestmark = [pytest.mark.e2e, quiet_sdk]

SKU = re.compile(r"^SKU-\d{8}$")
# The SDK declares these decimals as strings; Zuora writes them as numbers, and so do we.
NUMBERS = ("price", "defaultQuantity")


@pytest.fixture
def products(sdk) -> zuora_sdk.ProductsApi:
    return zuora_sdk.ProductsApi(sdk)


@pytest.fixture
def rate_plans(sdk) -> zuora_sdk.ProductRatePlansApi:
    return zuora_sdk.ProductRatePlansApi(sdk)


@pytest.fixture
def charges(sdk) -> zuora_sdk.ProductRatePlanChargesApi:
    return zuora_sdk.ProductRatePlanChargesApi(sdk)


def prices(*pairs: tuple[str, float]) -> models.ProductRatePlanChargeTierData:
    return models.ProductRatePlanChargeTierData(
        product_rate_plan_charge_tier=[
            models.ProductRatePlanChargeTier(currency=currency, price=price)
            for currency, price in pairs
        ]
    )


def charge_request(rate_plan_id: str, **fields: Any) -> models.CreateProductRatePlanChargeRequest:
    """A charge as the SDK requires one: these fields are mandatory in its model."""
    return models.CreateProductRatePlanChargeRequest(
        **{
            "product_rate_plan_id": rate_plan_id,
            "name": "Subscription fee",
            "bill_cycle_type": models.BillCycleType.DEFAULTFROMCUSTOMER,
            "billing_period": models.BillingPeriodProductRatePlanChargeRest.MONTH,
            "charge_model": models.ChargeModelProductRatePlanChargeRest.FLAT_FEE_PRICING,
            "charge_type": models.ChargeType.RECURRING,
            "trigger_event": models.TriggerEventProductRatePlanChargeRest.CONTRACTEFFECTIVE,
            "use_discount_specific_accounting_code": False,
            "product_rate_plan_charge_tier_data": prices(("USD", 10)),
            **fields,
        }
    )


def created(answer: zuora_sdk.ApiResponse) -> str:
    body = body_of(answer)
    assert_shape(body, models.ProxyCreateOrModifyResponse, ["Id", "Success"])
    assert body["Success"] is True
    assert ZUORA_ID.match(body["Id"])
    return body["Id"]


def new_product(products: zuora_sdk.ProductsApi) -> tuple[str, str]:
    """A product with a name no other test uses; its ID and name."""
    name = f"Product {uuid.uuid4().hex[:8]}"
    request = models.CreateProductRequest(
        name=name, effective_start_date=date(2024, 1, 1), effective_end_date=date(2099, 12, 31)
    )
    return created(products.create_product_with_http_info(request)), name


def new_rate_plan(rate_plans: zuora_sdk.ProductRatePlansApi, product_id: str) -> str:
    request = models.CreateProductRatePlanRequest(name="Monthly", product_id=product_id)
    return created(rate_plans.create_product_rate_plan_with_http_info(request))


class TestBuildAndRead:
    def test_a_catalog_built_through_the_sdk_reads_back_through_it(
        self, products, rate_plans, charges
    ):
        product_id, name = new_product(products)
        rate_plan_id = new_rate_plan(rate_plans, product_id)
        fee_id = created(
            charges.create_product_rate_plan_charge_with_http_info(
                charge_request(
                    rate_plan_id, product_rate_plan_charge_tier_data=prices(("USD", 10), ("EUR", 9))
                )
            )
        )
        seats_id = created(
            charges.create_product_rate_plan_charge_with_http_info(
                charge_request(
                    rate_plan_id,
                    name="Seats",
                    charge_model=models.ChargeModelProductRatePlanChargeRest.PER_UNIT_PRICING,
                    uom="Seat",
                    default_quantity=3,
                    product_rate_plan_charge_tier_data=prices(("USD", 4.5)),
                )
            )
        )
        setup_id = created(
            charges.create_product_rate_plan_charge_with_http_info(
                charge_request(rate_plan_id, name="Setup", charge_type=models.ChargeType.ONETIME)
            )
        )

        answer = products.get_product_with_http_info(product_id)
        product = body_of(answer)
        assert_shape(
            {key: value for key, value in product.items() if key != "success"},
            models.GetProductResponse,
            ["id", "sku", "productNumber", "name", "effectiveStartDate", "productRatePlans"],
        )
        assert product["success"] is True
        assert (product["id"], product["name"]) == (product_id, name)
        assert SKU.match(product["sku"])
        assert product["productRatePlans"] == f"/v1/rateplan/{product_id}/productRatePlan"
        assert product["effectiveEndDate"] == "2099-12-31"
        assert products.get_product(product["sku"]).id == product_id

        listed = rate_plans.get_rate_plans_by_product_with_http_info(product_id)
        body = body_of(listed)
        assert_shape(
            body,
            models.GetProductRatePlansByProductResponse,
            ["success", "productRatePlans"],
            numbers=NUMBERS,
        )
        [rate_plan] = listed.data.product_rate_plans
        assert (rate_plan.id, rate_plan.status) == (rate_plan_id, "Active")
        fee, seats, setup = rate_plan.product_rate_plan_charges
        assert [fee.id, seats.id, setup.id] == [fee_id, seats_id, setup_id]
        assert (fee.type, fee.model, fee.billing_period) == ("Recurring", "FlatFee", "Month")
        assert [(p.currency, p.price) for p in fee.pricing] == [("EUR", 9), ("USD", 10)]
        assert (seats.model, seats.uom, seats.default_quantity) == ("PerUnit", "Seat", 3)
        assert seats.pricing_summary == ["USD4.5/Seat"]
        assert (setup.type, setup.billing_period) == ("OneTime", None)

    def test_the_raw_charges_fit_the_sdks_models(self, products, rate_plans, charges):
        product_id, _ = new_product(products)
        rate_plan_id = new_rate_plan(rate_plans, product_id)
        charges.create_product_rate_plan_charge(
            charge_request(
                rate_plan_id,
                charge_model=models.ChargeModelProductRatePlanChargeRest.PER_UNIT_PRICING,
                uom="Seat",
                default_quantity=2,
            )
        )

        body = body_of(rate_plans.get_rate_plans_by_product_with_http_info(product_id))

        [rate_plan] = body["productRatePlans"]
        assert_shape(
            rate_plan,
            models.ProductRatePlan,
            ["id", "productRatePlanNumber", "name", "status", "productRatePlanCharges"],
            numbers=NUMBERS,
        )
        [charge] = rate_plan["productRatePlanCharges"]
        assert_shape(
            charge,
            models.ProductRatePlanChargeRest,
            ["id", "name", "type", "model", "uom", "billingPeriod", "pricing", "pricingSummary"],
            numbers=NUMBERS,
        )
        assert (charge["defaultQuantity"], charge["pricing"][0]["price"]) == (2, 10)

    def test_products_are_listed_with_links_to_their_rate_plans(self, products):
        product_id, _ = new_product(products)

        answer = products.get_products_with_http_info(page_size=40)

        body = body_of(answer)
        assert_shape(body, models.GetProductsResponse, ["success", "products"])
        links = {product.id: product.product_rate_plans for product in answer.data.products}
        assert links[product_id] == f"/v1/rateplan/{product_id}/productRatePlan"


class TestChangeAndDelete:
    def test_a_charge_read_and_repriced_through_crud(self, products, rate_plans, charges):
        product_id, _ = new_product(products)
        rate_plan_id = new_rate_plan(rate_plans, product_id)
        charge_id = charges.create_product_rate_plan_charge(charge_request(rate_plan_id)).id

        update = models.UpdateProductRatePlanChargeRequest(
            bill_cycle_type=models.BillCycleType.DEFAULTFROMCUSTOMER,
            billing_period=models.BillingPeriodProductRatePlanChargeRest.ANNUAL,
            charge_model=models.ChargeModelProductRatePlanChargeRest.FLAT_FEE_PRICING,
            trigger_event=models.TriggerEventProductRatePlanChargeRest.CONTRACTEFFECTIVE,
            use_discount_specific_accounting_code=False,
            product_rate_plan_charge_tier_data=prices(("USD", 100)),
        )
        assert charges.update_product_rate_plan_charge(charge_id, update).success is True

        answer = charges.get_product_rate_plan_charge_with_http_info(charge_id)
        record = body_of(answer)
        assert_shape(
            {k: v for k, v in record.items() if k != "ProductRatePlanChargeNumber"},
            models.GetProductRatePlanChargeResponse,
            ["Id", "ProductRatePlanId", "Name", "ChargeType", "ChargeModel", "BillingPeriod"],
        )
        assert (answer.data.billing_period, answer.data.charge_model) == (
            "Annual",
            "Flat Fee Pricing",
        )
        [rate_plan] = rate_plans.get_rate_plans_by_product(product_id).product_rate_plans
        assert rate_plan.product_rate_plan_charges[0].pricing[0].price == 100

    def test_a_deleted_product_is_gone_with_its_rate_plans(self, products, rate_plans):
        product_id, _ = new_product(products)
        rate_plan_id = new_rate_plan(rate_plans, product_id)

        answer = products.delete_product_with_http_info(product_id)

        assert_shape(body_of(answer), models.ProxyDeleteResponse, ["id", "success"])
        # GetProductResponse has no ``success``: that answer keeps its status, as CRUD's do.
        with pytest.raises(exceptions.NotFoundException):
            products.get_product(product_id)
        with pytest.raises(exceptions.NotFoundException):
            rate_plans.delete_product_rate_plan(rate_plan_id)

    def test_a_refused_charge_is_a_crud_error(self, products, rate_plans, charges):
        product_id, _ = new_product(products)
        rate_plan_id = new_rate_plan(rate_plans, product_id)

        with pytest.raises(exceptions.BadRequestException) as refused:
            charges.create_product_rate_plan_charge(
                charge_request(rate_plan_id, product_rate_plan_charge_tier_data=prices(("USD", -1)))
            )

        assert '"INVALID_VALUE"' in refused.value.body
        assert (
            rate_plans.get_rate_plans_by_product(product_id)
            .product_rate_plans[0]
            .product_rate_plan_charges
            == []
        )
