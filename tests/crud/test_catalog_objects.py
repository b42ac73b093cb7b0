"""The catalog's object types through Actions and ZOQL, which the registry gives them."""

from __future__ import annotations

from asyncgate.billing.catalog.models import ProductRatePlanCharge
from tests.billing.catalog_api import (
    charge_fields,
    make_charge,
    make_plan,
    make_product,
    per_unit_fields,
    tiers,
)
from tests.crud.support import count, query


async def records(client, tenant, text: str) -> list[dict]:
    response = await query(client, tenant, text)
    assert response.status_code == 200, response.text
    return response.json()["records"]


class TestActions:
    async def test_charges_are_created_each_on_its_own(self, client, tenant, database):
        _, rate_plan_id = await make_plan(client, tenant)

        response = await client.post(
            "/v1/action/create",
            json={
                "type": "ProductRatePlanCharge",
                "objects": [
                    charge_fields(rate_plan_id),
                    charge_fields(
                        rate_plan_id, Name="Broken", ProductRatePlanChargeTierData=tiers()
                    ),
                    per_unit_fields(rate_plan_id),
                ],
            },
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text
        assert [result["Success"] for result in response.json()] == [True, False, True]
        assert response.json()[1]["Errors"][0]["Code"] == "INVALID_VALUE"
        assert await count(database, ProductRatePlanCharge, tenant) == 2

    async def test_a_product_and_its_rate_plan_are_deleted_in_one_batch(self, client, tenant):
        product_id, rate_plan_id = await make_plan(client, tenant)

        response = await client.post(
            "/v1/action/delete",
            json={"type": "ProductRatePlan", "ids": [rate_plan_id, "0" * 32]},
            headers=tenant.headers,
        )

        assert [result["success"] for result in response.json()] == [True, False]
        assert await records(client, tenant, "select Id from ProductRatePlan") == []
        assert await records(client, tenant, "select Id from Product") == [{"Id": product_id}]


class TestQueries:
    async def test_charges_are_filtered_by_rate_plan_type_and_quantity(self, client, tenant):
        _, rate_plan_id = await make_plan(client, tenant)
        await make_charge(client, tenant, rate_plan_id)
        await make_charge(client, tenant, rate_plan_id, Name="Setup", ChargeType="OneTime")
        seats_id = await make_charge(
            client, tenant, rate_plan_id, **per_unit_fields(rate_plan_id, DefaultQuantity=2.5)
        )

        found = await records(
            client,
            tenant,
            "select Id, ChargeModel, UOM, DefaultQuantity from ProductRatePlanCharge "
            f"where ProductRatePlanId = '{rate_plan_id}' and ChargeType = 'Recurring' "
            "and DefaultQuantity > 1",
        )

        assert found == [
            {
                "Id": seats_id,
                "ChargeModel": "Per Unit Pricing",
                "UOM": "Seat",
                "DefaultQuantity": 2.5,
            }
        ]

    async def test_products_are_filtered_by_effective_date(self, client, tenant):
        await make_product(client, tenant, Name="Lasting")
        ending_id = await make_product(client, tenant, Name="Ending", EffectiveEndDate="2025-01-01")

        found = await records(
            client, tenant, "select Id, SKU from Product where EffectiveEndDate < '2030-01-01'"
        )

        assert found == [{"Id": ending_id, "SKU": "SKU-00000002"}]

    async def test_tier_data_is_written_but_not_read(self, client, tenant):
        response = await query(
            client, tenant, "select ProductRatePlanChargeTierData from ProductRatePlanCharge"
        )

        assert response.status_code == 400
        assert response.json()["FaultCode"] == "INVALID_FIELD"
