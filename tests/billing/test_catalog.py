"""The product catalog: written through CRUD, read through ``/v1/catalog`` and the catalog
service that orders and billing build on."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from asyncgate.billing.catalog import service
from asyncgate.billing.catalog.models import (
    Product,
    ProductRatePlan,
    ProductRatePlanCharge,
    ProductRatePlanChargePrice,
)
from asyncgate.http.errors import NotFound
from tests.billing.api import OBJECT_ID, assert_refused
from tests.billing.catalog_api import (
    CURRENT_VERSION,
    LEGACY_VERSION,
    catalog_charge,
    catalog_product,
    charge_fields,
    make_charge,
    make_plan,
    make_product,
    make_rate_plan,
    per_unit_fields,
    product_fields,
    tiers,
)
from tests.crud.support import count, crud_error, get_object

# A failed GET names the generic resource (Zuora's guide "Error codes"): 500000, category 40.
NOT_FOUND_BY_GET = 50000040
UTC_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
CATALOG_MODELS = (Product, ProductRatePlan, ProductRatePlanCharge, ProductRatePlanChargePrice)


async def catalog_rows(database, tenant) -> list[int]:
    """How many products, rate plans, charges and prices the tenant has."""
    return [await count(database, model, tenant) for model in CATALOG_MODELS]


async def crud_get(client, tenant, path: str, object_id: str) -> dict:
    response = await get_object(client, tenant, path, object_id)
    assert response.status_code == 200, response.text
    return response.json()


class TestProducts:
    async def test_skus_and_numbers_follow_a_sequence_per_tenant(
        self, client, tenant, other_tenant
    ):
        first = await crud_get(client, tenant, "product", await make_product(client, tenant))
        second = await crud_get(
            client, tenant, "product", await make_product(client, tenant, Name="Silver")
        )
        elsewhere = await crud_get(
            client, other_tenant, "product", await make_product(client, other_tenant)
        )

        assert [first["SKU"], second["SKU"]] == ["SKU-00000001", "SKU-00000002"]
        assert [first["ProductNumber"], second["ProductNumber"]] == ["PC-00000001", "PC-00000002"]
        assert (elsewhere["SKU"], elsewhere["ProductNumber"]) == ("SKU-00000001", "PC-00000001")

    async def test_a_chosen_sku_is_kept_and_skipped_by_the_sequence(self, client, tenant):
        chosen = await make_product(client, tenant, Name="Chosen", SKU="SKU-00000001")
        generated = await make_product(client, tenant)

        assert (await crud_get(client, tenant, "product", chosen))["SKU"] == "SKU-00000001"
        assert (await crud_get(client, tenant, "product", generated))["SKU"] == "SKU-00000002"

    async def test_every_field_is_stored_and_read_back_by_crud(self, client, tenant):
        product_id = await make_product(
            client,
            tenant,
            SKU="GOLD-1",
            ProductNumber="P-7",
            Category="Add On Services",
            Description="The gold tier",
            Region__c="EMEA",
        )

        record = await crud_get(client, tenant, "product", product_id)
        assert OBJECT_ID.match(record.pop("Id"))
        assert UTC_TIMESTAMP.fullmatch(record.pop("CreatedDate"))
        assert UTC_TIMESTAMP.fullmatch(record.pop("UpdatedDate"))
        assert record == {
            "SKU": "GOLD-1",
            "ProductNumber": "P-7",
            "Name": "Gold",
            "Category": "Add On Services",
            "Description": "The gold tier",
            "EffectiveStartDate": "2024-01-01",
            "EffectiveEndDate": "2099-12-31",
            "Region__c": "EMEA",
        }

    @pytest.mark.parametrize(
        ("taken", "field"),
        [({"SKU": "GOLD-1"}, "SKU"), ({"ProductNumber": "P-1"}, "ProductNumber"), ({}, "Name")],
        ids=["sku", "number", "name"],
    )
    async def test_a_value_another_product_has_is_a_conflict(
        self, client, tenant, database, taken, field
    ):
        await make_product(client, tenant, SKU="GOLD-1", ProductNumber="P-1")
        before = await catalog_rows(database, tenant)
        fields = {"Name": "Other", "SKU": "OTHER-1", "ProductNumber": "P-2", **taken}
        if field == "Name":
            fields["Name"] = "Gold"

        response = await client.post(
            "/v1/object/product", json=product_fields(**fields), headers=tenant.headers
        )

        code, message = crud_error(response, 409)
        assert code == "DUPLICATE_VALUE"
        assert field in message
        assert await catalog_rows(database, tenant) == before

    async def test_another_tenant_may_use_the_same_values(self, client, tenant, other_tenant):
        await make_product(client, tenant, SKU="GOLD-1")
        assert await make_product(client, other_tenant, SKU="GOLD-1")

    @pytest.mark.parametrize(
        ("fields", "status", "code"),
        [
            ({"Name": None}, 400, "MISSING_REQUIRED_VALUE"),
            ({"EffectiveStartDate": None}, 400, "MISSING_REQUIRED_VALUE"),
            ({"EffectiveEndDate": "2023-12-31"}, 400, "INVALID_VALUE"),
            ({"EffectiveEndDate": "2024-01-01"}, 400, "INVALID_VALUE"),
            ({"EffectiveStartDate": "Monday"}, 400, "INVALID_VALUE"),
            ({"Category": "Hardware"}, 400, "INVALID_VALUE"),
            ({"SKU": "x" * 51}, 400, "INVALID_VALUE"),
            ({"Colour": "gold"}, 400, "INVALID_FIELD"),
        ],
        ids=[
            "no-name",
            "no-start",
            "end-before-start",
            "end-on-start",
            "bad-date",
            "bad-category",
            "long-sku",
            "unknown-field",
        ],
    )
    async def test_bad_products_are_refused_and_create_nothing(
        self, client, tenant, database, fields, status, code
    ):
        body = {
            name: value for name, value in product_fields(**fields).items() if value is not None
        }
        response = await client.post("/v1/object/product", json=body, headers=tenant.headers)

        assert crud_error(response, status)[0] == code
        assert await catalog_rows(database, tenant) == [0, 0, 0, 0]

    async def test_an_update_changes_the_fields_sent(self, client, tenant):
        product_id = await make_product(client, tenant, Description="Old")

        response = await client.put(
            f"/v1/object/product/{product_id}",
            json={"Name": "Platinum", "EffectiveEndDate": "2030-06-30"},
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text
        record = await crud_get(client, tenant, "product", product_id)
        assert (record["Name"], record["EffectiveEndDate"], record["Description"]) == (
            "Platinum",
            "2030-06-30",
            "Old",
        )

    async def test_an_update_that_breaks_the_window_changes_nothing(self, client, tenant):
        product_id = await make_product(client, tenant)

        response = await client.put(
            f"/v1/object/product/{product_id}",
            json={"Name": "Renamed", "EffectiveEndDate": "2000-01-01"},
            headers=tenant.headers,
        )

        assert crud_error(response, 400)[0] == "INVALID_VALUE"
        assert (await crud_get(client, tenant, "product", product_id))["Name"] == "Gold"


class TestRatePlans:
    async def test_a_rate_plan_belongs_to_its_product_and_is_numbered(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)

        record = await crud_get(client, tenant, "product-rate-plan", rate_plan_id)
        assert record["ProductId"] == product_id
        assert record["ProductRatePlanNumber"] == "PRP-00000001"
        assert record["Name"] == "Monthly"

    @pytest.mark.parametrize("owner", ["nobody", "other-tenant"])
    async def test_an_unknown_product_is_refused(
        self, client, tenant, other_tenant, database, owner
    ):
        product_id = "0" * 32
        if owner == "other-tenant":
            product_id = await make_product(client, other_tenant)

        response = await client.post(
            "/v1/object/product-rate-plan",
            json={"ProductId": product_id, "Name": "Monthly"},
            headers=tenant.headers,
        )

        code, message = crud_error(response, 400)
        assert code == "INVALID_VALUE"
        assert product_id in message
        assert await count(database, ProductRatePlan, tenant) == 0

    async def test_names_are_unique_within_a_product_only(self, client, tenant):
        product_id, _ = await make_plan(client, tenant)
        other_product_id = await make_product(client, tenant, Name="Silver")

        response = await client.post(
            "/v1/object/product-rate-plan",
            json={"ProductId": product_id, "Name": "Monthly"},
            headers=tenant.headers,
        )

        code, message = crud_error(response, 409)
        assert (code, "Monthly" in message) == ("DUPLICATE_VALUE", True)
        assert await make_rate_plan(client, tenant, other_product_id)

    async def test_own_dates_must_make_a_window_with_the_products(self, client, tenant):
        product_id = await make_product(client, tenant)

        response = await client.post(
            "/v1/object/product-rate-plan",
            json={"ProductId": product_id, "Name": "Late", "EffectiveStartDate": "2100-01-01"},
            headers=tenant.headers,
        )

        assert crud_error(response, 400)[0] == "INVALID_VALUE"

    async def test_the_product_cannot_be_changed(self, client, tenant):
        _, rate_plan_id = await make_plan(client, tenant)
        other_product_id = await make_product(client, tenant, Name="Silver")

        response = await client.put(
            f"/v1/object/product-rate-plan/{rate_plan_id}",
            json={"ProductId": other_product_id},
            headers=tenant.headers,
        )

        assert crud_error(response, 400)[0] == "INVALID_FIELD"


class TestCharges:
    async def test_a_charge_gets_zuoras_defaults_and_a_number(self, client, tenant):
        _, rate_plan_id = await make_plan(client, tenant)

        charge_id = await make_charge(client, tenant, rate_plan_id)

        record = await crud_get(client, tenant, "product-rate-plan-charge", charge_id)
        assert record["ProductRatePlanChargeNumber"] == "PRPC-00000001"
        assert record["BillCycleType"] == "DefaultFromCustomer"
        assert record["TriggerEvent"] == "ContractEffective"
        assert record["EndDateCondition"] == "SubscriptionEnd"
        assert "ProductRatePlanChargeTierData" not in record

    async def test_a_recurring_flat_fee_is_priced_in_each_currency(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)
        await make_charge(
            client,
            tenant,
            rate_plan_id,
            BillingPeriod="Quarter",
            ProductRatePlanChargeTierData=tiers(("USD", 30), ("EUR", 27.5)),
        )

        charge = await catalog_charge(client, tenant, product_id)

        assert (charge["type"], charge["model"], charge["billingPeriod"]) == (
            "Recurring",
            "FlatFee",
            "Quarter",
        )
        assert [(price["currency"], price["price"]) for price in charge["pricing"]] == [
            ("EUR", 27.5),
            ("USD", 30),
        ]
        assert charge["pricingSummary"] == ["EUR27.5", "USD30"]
        assert charge["defaultQuantity"] is None

    async def test_a_per_unit_charge_has_a_unit_and_a_default_quantity(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)
        await make_charge(client, tenant, rate_plan_id, **per_unit_fields(rate_plan_id))

        charge = await catalog_charge(client, tenant, product_id)

        assert (charge["model"], charge["uom"], charge["defaultQuantity"]) == ("PerUnit", "Seat", 5)
        assert charge["pricing"][0]["price"] == 9.99
        assert charge["pricingSummary"] == ["USD9.99/Seat"]

    async def test_a_one_time_charge_has_no_billing_period_even_when_sent_one(self, client, tenant):
        """Zuora's SDK sends a ``BillingPeriod`` with every charge, one-time ones included."""
        product_id, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(
            client, tenant, rate_plan_id, ChargeType="OneTime", BillingPeriod="Month"
        )

        assert (await catalog_charge(client, tenant, product_id))["billingPeriod"] is None
        record = await crud_get(client, tenant, "product-rate-plan-charge", charge_id)
        assert (record["ChargeType"], "BillingPeriod" in record) == ("OneTime", False)

    async def test_prices_are_exact_decimals(self, client, tenant, database):
        _, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(
            client,
            tenant,
            rate_plan_id,
            ProductRatePlanChargeTierData=tiers(("USD", "123456.123456789"), ("JPY", 0.1)),
        )

        async with database.transaction() as session:
            charge = await service.get_product_rate_plan_charge(
                session, tenant.tenant_id, charge_id
            )
        assert charge.price_in("USD") == Decimal("123456.123456789")
        assert charge.price_in("JPY") == Decimal("0.1")
        assert charge.price_in("EUR") is None

    @pytest.mark.parametrize(
        ("fields", "code", "fragment"),
        [
            ({"BillingPeriod": None}, "MISSING_REQUIRED_VALUE", "BillingPeriod"),
            ({"BillingPeriod": "Week"}, "INVALID_VALUE", "BillingPeriod"),
            ({"ChargeType": "Usage"}, "INVALID_VALUE", "ChargeType"),
            ({"ChargeType": None}, "MISSING_REQUIRED_VALUE", "ChargeType"),
            ({"ChargeModel": "FlatFee"}, "INVALID_VALUE", "ChargeModel"),
            ({"ChargeModel": "Tiered Pricing"}, "INVALID_VALUE", "ChargeModel"),
            ({"BillCycleType": "SpecificDayofMonth"}, "INVALID_VALUE", "BillCycleType"),
            ({"TriggerEvent": "SpecificDate"}, "INVALID_VALUE", "TriggerEvent"),
            ({"EndDateCondition": "FixedPeriod"}, "INVALID_VALUE", "EndDateCondition"),
            ({"Name": None}, "MISSING_REQUIRED_VALUE", "Name"),
            ({"ProductRatePlanId": None}, "MISSING_REQUIRED_VALUE", "ProductRatePlanId"),
            ({"ProductRatePlanId": "0" * 32}, "INVALID_VALUE", "0" * 32),
            ({"DefaultQuantity": 1}, "INVALID_VALUE", "DefaultQuantity"),
            ({"ProductRatePlanChargeTierData": None}, "MISSING_REQUIRED_VALUE", "TierData"),
            ({"ProductRatePlanChargeTierData": tiers()}, "INVALID_VALUE", "TierData"),
            ({"ProductRatePlanChargeTierData": {}}, "MISSING_REQUIRED_VALUE", "TierData"),
            ({"ProductRatePlanChargeTierData": []}, "INVALID_VALUE", "TierData"),
            (
                {"ProductRatePlanChargeTierData": {"Tiers": []}},
                "INVALID_FIELD",
                "Tiers",
            ),
            ({"ProductRatePlanChargeTierData": tiers(("USD", -1))}, "INVALID_VALUE", "price"),
            ({"ProductRatePlanChargeTierData": tiers(("USD", None))}, "INVALID_VALUE", "price"),
            ({"ProductRatePlanChargeTierData": tiers(("USD", "5_000"))}, "INVALID_VALUE", "price"),
            ({"ProductRatePlanChargeTierData": tiers(("USD", " 5 "))}, "INVALID_VALUE", "price"),
            (
                {"ProductRatePlanChargeTierData": tiers(("USD", "0.0000000001"))},
                "INVALID_VALUE",
                "price",
            ),
            (
                {"ProductRatePlanChargeTierData": tiers(("USD", 10**15))},
                "INVALID_VALUE",
                "price",
            ),
            ({"ProductRatePlanChargeTierData": tiers(("usd", 1))}, "INVALID_VALUE", "currency"),
            ({"ProductRatePlanChargeTierData": tiers(("US", 1))}, "INVALID_VALUE", "currency"),
            ({"ProductRatePlanChargeTierData": tiers(("XYZ", 1))}, "INVALID_VALUE", "currency"),
            (
                {"ProductRatePlanChargeTierData": tiers(("USD", 1), ("USD", 2))},
                "INVALID_VALUE",
                "USD twice",
            ),
            (
                {
                    "ProductRatePlanChargeTierData": {
                        "ProductRatePlanChargeTier": [
                            {"Currency": "USD", "Price": 1, "PriceFormat": "Per Unit"}
                        ]
                    }
                },
                "INVALID_VALUE",
                "PriceFormat",
            ),
            (
                {
                    "ProductRatePlanChargeTierData": {
                        "ProductRatePlanChargeTier": [
                            {"Currency": "USD", "Price": 1, "StartingUnit": 10}
                        ]
                    }
                },
                "INVALID_VALUE",
                "starting_unit",
            ),
            (
                {
                    "ProductRatePlanChargeTierData": {
                        "ProductRatePlanChargeTier": [
                            {"Currency": "USD", "Price": 1, "EndingUnit": 10}
                        ]
                    }
                },
                "INVALID_FIELD",
                "EndingUnit",
            ),
        ],
        ids=lambda value: value if isinstance(value, str) else None,
    )
    async def test_bad_charges_are_refused_and_create_nothing(
        self, client, tenant, database, fields, code, fragment
    ):
        _, rate_plan_id = await make_plan(client, tenant)
        before = await catalog_rows(database, tenant)
        body = {
            name: value
            for name, value in charge_fields(rate_plan_id, **fields).items()
            if value is not None
        }

        response = await client.post(
            "/v1/object/product-rate-plan-charge", json=body, headers=tenant.headers
        )

        error_code, message = crud_error(response, 400)
        assert error_code == code
        assert fragment in message
        assert await catalog_rows(database, tenant) == before

    @pytest.mark.parametrize(
        ("missing", "fragment"), [("UOM", "UOM"), ("DefaultQuantity", "DefaultQuantity")]
    )
    async def test_a_per_unit_charge_needs_a_unit_and_a_quantity(
        self, client, tenant, database, missing, fragment
    ):
        _, rate_plan_id = await make_plan(client, tenant)
        body = per_unit_fields(rate_plan_id)
        del body[missing]

        response = await client.post(
            "/v1/object/product-rate-plan-charge", json=body, headers=tenant.headers
        )

        code, message = crud_error(response, 400)
        assert (code, fragment in message) == ("MISSING_REQUIRED_VALUE", True)
        assert await count(database, ProductRatePlanCharge, tenant) == 0

    async def test_another_tenants_rate_plan_is_unknown(self, client, tenant, other_tenant):
        _, rate_plan_id = await make_plan(client, other_tenant)

        response = await client.post(
            "/v1/object/product-rate-plan-charge",
            json=charge_fields(rate_plan_id),
            headers=tenant.headers,
        )

        assert crud_error(response, 400)[0] == "INVALID_VALUE"

    async def test_names_are_unique_within_a_rate_plan(self, client, tenant):
        _, rate_plan_id = await make_plan(client, tenant)
        await make_charge(client, tenant, rate_plan_id)

        response = await client.post(
            "/v1/object/product-rate-plan-charge",
            json=charge_fields(rate_plan_id),
            headers=tenant.headers,
        )

        assert crud_error(response, 409)[0] == "DUPLICATE_VALUE"


class TestChargeUpdates:
    async def test_tiers_replace_the_prices_and_a_kept_currency_keeps_its_row(
        self, client, tenant, database
    ):
        _, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(
            client,
            tenant,
            rate_plan_id,
            ProductRatePlanChargeTierData=tiers(("USD", 10), ("EUR", 9)),
        )
        async with database.transaction() as session:
            before = await service.get_product_rate_plan_charge(
                session, tenant.tenant_id, charge_id
            )
            usd_row = next(row.id for row in before.prices if row.currency == "USD")

        response = await client.put(
            f"/v1/object/product-rate-plan-charge/{charge_id}",
            json={"ProductRatePlanChargeTierData": tiers(("USD", 12), ("GBP", 8))},
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text
        async with database.transaction() as session:
            after = await service.get_product_rate_plan_charge(session, tenant.tenant_id, charge_id)
        assert [(row.currency, row.price) for row in after.prices] == [
            ("GBP", Decimal(8)),
            ("USD", Decimal(12)),
        ]
        assert next(row.id for row in after.prices if row.currency == "USD") == usd_row

    async def test_becoming_per_unit_needs_a_unit_and_a_quantity(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(client, tenant, rate_plan_id)
        path = f"/v1/object/product-rate-plan-charge/{charge_id}"

        refused = await client.put(
            path, json={"ChargeModel": "Per Unit Pricing"}, headers=tenant.headers
        )
        accepted = await client.put(
            path,
            json={"ChargeModel": "Per Unit Pricing", "UOM": "Seat", "DefaultQuantity": 2},
            headers=tenant.headers,
        )

        assert crud_error(refused, 400)[0] == "MISSING_REQUIRED_VALUE"
        assert accepted.status_code == 200, accepted.text
        charge = await catalog_charge(client, tenant, product_id)
        assert (charge["model"], charge["defaultQuantity"]) == ("PerUnit", 2)

    async def test_a_charge_that_becomes_a_flat_fee_loses_its_quantity(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(client, tenant, rate_plan_id, **per_unit_fields(rate_plan_id))

        response = await client.put(
            f"/v1/object/product-rate-plan-charge/{charge_id}",
            json={"ChargeModel": "Flat Fee Pricing"},
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text
        charge = await catalog_charge(client, tenant, product_id)
        assert (charge["model"], charge["defaultQuantity"], charge["uom"]) == (
            "FlatFee",
            None,
            "Seat",
        )

    async def test_a_recurring_charge_keeps_its_billing_period(self, client, tenant):
        _, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(client, tenant, rate_plan_id)

        response = await client.put(
            f"/v1/object/product-rate-plan-charge/{charge_id}",
            json={"fieldsToNull": ["BillingPeriod"]},
            headers=tenant.headers,
        )

        assert crud_error(response, 400)[0] == "MISSING_REQUIRED_VALUE"

    async def test_the_charge_type_cannot_be_changed(self, client, tenant):
        _, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(client, tenant, rate_plan_id)

        response = await client.put(
            f"/v1/object/product-rate-plan-charge/{charge_id}",
            json={"ChargeType": "OneTime"},
            headers=tenant.headers,
        )

        assert crud_error(response, 400)[0] == "INVALID_FIELD"


class TestCatalogProduct:
    @pytest.mark.parametrize("key", ["Id", "SKU", "ProductNumber"])
    async def test_a_product_is_found_by_id_sku_or_number(self, client, tenant, key):
        product_id = await make_product(client, tenant, SKU="GOLD-1", ProductNumber="P-1")
        keys = {"Id": product_id, "SKU": "GOLD-1", "ProductNumber": "P-1"}

        body = await catalog_product(client, tenant, keys[key])

        assert body["success"] is True
        assert (body["id"], body["sku"], body["productNumber"]) == (product_id, "GOLD-1", "P-1")
        assert (body["effectiveStartDate"], body["effectiveEndDate"]) == (
            "2024-01-01",
            "2099-12-31",
        )

    async def test_rate_plans_and_charges_are_listed_in_creation_order(self, client, tenant):
        product_id, monthly_id = await make_plan(client, tenant)
        annual_id = await make_rate_plan(client, tenant, product_id, Name="Annual")
        fee_id = await make_charge(client, tenant, monthly_id)
        seats_id = await make_charge(client, tenant, monthly_id, **per_unit_fields(monthly_id))

        body = await catalog_product(client, tenant, product_id)

        monthly, annual = body["productRatePlans"]
        assert (monthly["id"], annual["id"]) == (monthly_id, annual_id)
        assert [charge["id"] for charge in monthly["productRatePlanCharges"]] == [fee_id, seats_id]
        assert annual["productRatePlanCharges"] == []
        assert monthly["productRatePlanNumber"] == "PRP-00000001"

    @pytest.mark.parametrize(
        ("headers", "as_url"),
        [
            (None, False),
            (LEGACY_VERSION, False),
            ({"Zuora-Version": "230.0"}, True),
            (CURRENT_VERSION, True),
        ],
        ids=["no-version", "211.0", "230.0", "dated"],
    )
    async def test_zuora_version_230_and_later_link_the_rate_plans(
        self, client, tenant, headers, as_url
    ):
        product_id, _ = await make_plan(client, tenant)

        body = await catalog_product(client, tenant, product_id, headers)

        if as_url:
            assert body["productRatePlans"] == f"/v1/rateplan/{product_id}/productRatePlan"
        else:
            assert [plan["name"] for plan in body["productRatePlans"]] == ["Monthly"]

    async def test_the_linked_rate_plans_list_the_charges(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(client, tenant, rate_plan_id)
        url = (await catalog_product(client, tenant, product_id, CURRENT_VERSION))[
            "productRatePlans"
        ]

        response = await client.get(url, headers=tenant.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and "nextPage" not in body
        [rate_plan] = body["productRatePlans"]
        assert rate_plan["id"] == rate_plan_id
        assert [charge["id"] for charge in rate_plan["productRatePlanCharges"]] == [charge_id]

    @pytest.mark.parametrize(
        ("dates", "status"),
        [
            ({}, "Active"),
            ({"EffectiveStartDate": "2098-01-01"}, "NotStarted"),
            ({"EffectiveEndDate": "2024-06-30"}, "Expired"),
        ],
    )
    async def test_a_rate_plans_status_follows_its_effective_dates(
        self, client, tenant, dates, status
    ):
        product_id = await make_product(client, tenant)
        await make_rate_plan(client, tenant, product_id, **dates)

        [rate_plan] = (await catalog_product(client, tenant, product_id))["productRatePlans"]

        assert rate_plan["status"] == status

    async def test_an_unknown_product_is_not_found(self, client, tenant, other_tenant):
        elsewhere = await make_product(client, other_tenant)

        for key in ("SKU-404", elsewhere):
            response = await client.get(f"/v1/catalog/product/{key}", headers=tenant.headers)
            body = assert_refused(response, 404, 40)
            assert body["reasons"][0]["code"] == NOT_FOUND_BY_GET
            assert key in body["reasons"][0]["message"]


class TestCatalogProducts:
    async def test_pages_run_from_the_latest_updated_product(self, client, tenant):
        ids = [await make_product(client, tenant, Name=f"Product {index}") for index in range(3)]
        updated = await client.put(
            f"/v1/object/product/{ids[0]}", json={"Description": "new"}, headers=tenant.headers
        )
        assert updated.status_code == 200, updated.text

        first = await client.get("/v1/catalog/products?pageSize=2", headers=tenant.headers)
        second = await client.get(first.json()["nextPage"], headers=tenant.headers)

        assert first.status_code == second.status_code == 200
        assert first.json()["nextPage"] == "/v1/catalog/products?page=2&pageSize=2"
        listed = [product["name"] for product in first.json()["products"]]
        listed += [product["name"] for product in second.json()["products"]]
        assert listed == ["Product 0", "Product 2", "Product 1"]
        assert "nextPage" not in second.json()

    async def test_ten_products_make_a_page_by_default(self, client, tenant):
        for index in range(11):
            await make_product(client, tenant, Name=f"Product {index}")

        response = await client.get("/v1/catalog/products", headers=tenant.headers)

        assert len(response.json()["products"]) == 10
        assert "nextPage" in response.json()

    @pytest.mark.parametrize("query", ["pageSize=41", "pageSize=0", "page=0"])
    async def test_pages_out_of_bounds_are_refused(self, client, tenant, query):
        response = await client.get(f"/v1/catalog/products?{query}", headers=tenant.headers)

        assert_refused(response, 400, 20)

    async def test_only_the_callers_products_are_listed(self, client, tenant, other_tenant):
        await make_plan(client, other_tenant)

        response = await client.get("/v1/catalog/products", headers=tenant.headers)

        assert response.json() == {"success": True, "products": []}

    async def test_listed_products_carry_their_rate_plans(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)
        await make_charge(client, tenant, rate_plan_id)

        listed = await client.get("/v1/catalog/products", headers=tenant.headers)
        linked = await client.get(
            "/v1/catalog/products", headers={**tenant.headers, **CURRENT_VERSION}
        )

        [product] = listed.json()["products"]
        alone = await catalog_product(client, tenant, product_id)
        assert product == {name: value for name, value in alone.items() if name != "success"}
        assert product["productRatePlans"][0]["id"] == rate_plan_id
        [linked_product] = linked.json()["products"]
        assert linked_product["productRatePlans"] == f"/v1/rateplan/{product_id}/productRatePlan"


class TestDeletion:
    async def test_deleting_a_product_deletes_everything_below_it(self, client, tenant, database):
        product_id, rate_plan_id = await make_plan(client, tenant)
        await make_charge(
            client,
            tenant,
            rate_plan_id,
            ProductRatePlanChargeTierData=tiers(("USD", 1), ("EUR", 1)),
        )
        kept_id = await make_product(client, tenant, Name="Kept")
        await make_charge(client, tenant, await make_rate_plan(client, tenant, kept_id))

        response = await client.delete(f"/v1/object/product/{product_id}", headers=tenant.headers)

        assert response.json() == {"success": True, "id": product_id}
        assert await catalog_rows(database, tenant) == [1, 1, 1, 1]
        missing = await client.get(f"/v1/catalog/product/{product_id}", headers=tenant.headers)
        assert missing.status_code == 404

    async def test_deleting_a_rate_plan_keeps_its_product(self, client, tenant, database):
        product_id, rate_plan_id = await make_plan(client, tenant)
        await make_charge(client, tenant, rate_plan_id)

        response = await client.delete(
            f"/v1/object/product-rate-plan/{rate_plan_id}", headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        assert await catalog_rows(database, tenant) == [1, 0, 0, 0]
        assert (await catalog_product(client, tenant, product_id))["productRatePlans"] == []

    async def test_deleting_a_charge_deletes_its_prices(self, client, tenant, database):
        _, rate_plan_id = await make_plan(client, tenant)
        charge_id = await make_charge(client, tenant, rate_plan_id)

        response = await client.delete(
            f"/v1/object/product-rate-plan-charge/{charge_id}", headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        assert await catalog_rows(database, tenant) == [1, 1, 0, 0]

    async def test_another_tenants_product_cannot_be_deleted(
        self, client, tenant, other_tenant, database
    ):
        product_id, _ = await make_plan(client, other_tenant)

        response = await client.delete(f"/v1/object/product/{product_id}", headers=tenant.headers)

        assert crud_error(response, 404)[0] == "INVALID_ID"
        assert await catalog_rows(database, other_tenant) == [1, 1, 0, 0]


class TestServiceReads:
    """What orders and billing read: a rate plan with its product, charges and prices."""

    @pytest.mark.parametrize("by", ["id", "number"])
    async def test_a_rate_plan_loads_by_id_or_number_with_all_it_needs(
        self, client, tenant, database, by
    ):
        product_id, rate_plan_id = await make_plan(client, tenant)
        await make_charge(client, tenant, rate_plan_id)
        await make_charge(client, tenant, rate_plan_id, **per_unit_fields(rate_plan_id))
        key = rate_plan_id if by == "id" else "PRP-00000001"

        async with database.transaction() as session:
            rate_plan = await service.get_product_rate_plan(session, tenant.tenant_id, key)
            fee, seats = rate_plan.charges

        assert (rate_plan.id, rate_plan.product.id) == (rate_plan_id, product_id)
        assert (fee.charge_model, fee.billing_period, fee.price_in("USD")) == (
            "Flat Fee Pricing",
            "Month",
            Decimal(10),
        )
        assert (seats.uom, seats.default_quantity, seats.price_in("USD")) == (
            "Seat",
            Decimal(5),
            Decimal("9.99"),
        )

    async def test_another_tenants_rate_plan_is_not_found(
        self, client, tenant, other_tenant, database
    ):
        _, rate_plan_id = await make_plan(client, other_tenant)

        async with database.transaction() as session:
            with pytest.raises(NotFound):
                await service.get_product_rate_plan(session, tenant.tenant_id, rate_plan_id)
            with pytest.raises(NotFound):
                await service.get_product_rate_plan(session, tenant.tenant_id, "PRP-00000001")
