"""``DELETE /v1/orders/{orderNumber}``: an order is undone (its subscription versions and
invoices gone, the versions before it the latest again), unless a later order built on it."""

from __future__ import annotations

from asyncgate.billing.invoices.models import Invoice, InvoiceItem
from asyncgate.billing.orders.models import Order, OrderAction
from asyncgate.billing.subscriptions.models import (
    Subscription,
    SubscriptionCharge,
    SubscriptionRatePlan,
)
from tests.billing.api import assert_refused, get_account
from tests.billing.orders_api import (
    action,
    change,
    charges_of,
    create_action,
    make_catalog_plan,
    place,
    quantity_update,
    seats,
    subscription,
)
from tests.crud.support import count

NUMBER = "A-S00000001"
RUN_BILLING = {
    "processingOptions": {"runBilling": True, "billingOptions": {"targetDate": "2024-01-01"}}
}
MODELS = (
    Order,
    OrderAction,
    Subscription,
    SubscriptionRatePlan,
    SubscriptionCharge,
    Invoice,
    InvoiceItem,
)


async def delete(client, tenant, number: str):
    return await client.delete(f"/v1/orders/{number}", headers=tenant.headers)


async def rows(database, tenant) -> list[int]:
    return [await count(database, model, tenant) for model in MODELS]


class TestDeletingOrders:
    async def test_deleting_the_order_that_created_a_subscription_removes_it(
        self, client, tenant, database
    ):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)], **RUN_BILLING)

        response = await delete(client, tenant, "O-00000001")

        assert (response.status_code, response.json()) == (200, {"success": True})
        assert_refused(await client.get("/v1/orders/O-00000001", headers=tenant.headers), 404, 40)
        assert_refused(
            await client.get(f"/v1/subscriptions/{NUMBER}", headers=tenant.headers), 404, 40
        )
        assert_refused(
            await client.get("/v1/invoices/INV00000001", headers=tenant.headers), 404, 40
        )
        assert await rows(database, tenant) == [0] * len(MODELS)
        # The account the order created stays, its balance without the deleted invoice.
        account = await get_account(client, tenant, "A00000001")
        assert (account["metrics"]["balance"], account["metrics"]["totalInvoiceBalance"]) == (0, 0)

    async def test_deleting_a_change_restores_the_version_before_it(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, seats(10, 5))
        await place(client, tenant, [create_action(plan)], **RUN_BILLING)
        before = await subscription(client, tenant, NUMBER)
        await place(
            client,
            tenant,
            change(NUMBER, quantity_update(plan, 8, on="2024-01-16")),
            account="A00000001",
            processingOptions={"runBilling": True, "billingOptions": {"targetDate": "2024-02-01"}},
        )

        response = await delete(client, tenant, "O-00000002")

        assert response.status_code == 200, response.text
        restored = await subscription(client, tenant, NUMBER)
        assert restored == before
        [seat] = charges_of(restored)
        assert (seat["quantity"], seat["chargedThroughDate"]) == (5, "2024-02-01")
        assert_refused(
            await client.get("/v1/invoices/INV00000002", headers=tenant.headers), 404, 40
        )
        account = await get_account(client, tenant, "A00000001")
        assert account["metrics"]["balance"] == 50

    async def test_an_order_a_later_one_builds_on_is_not_deleted(self, client, tenant, database):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])
        await place(
            client,
            tenant,
            change(NUMBER, action("TermsAndConditions", {"autoRenew": True})),
            account="A00000001",
        )
        stored = await rows(database, tenant)

        refused = await delete(client, tenant, "O-00000001")

        message = assert_refused(refused, 409, 30)["reasons"][0]["message"]
        assert "order O-00000002 changed subscription A-S00000001" in message
        assert await rows(database, tenant) == stored
        assert (await delete(client, tenant, "O-00000002")).status_code == 200
        assert (await delete(client, tenant, "O-00000001")).status_code == 200

    async def test_a_deleted_change_can_be_made_again(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])
        renew = change(NUMBER, action("RenewSubscription", {}))
        await place(client, tenant, renew, account="A00000001")
        await delete(client, tenant, "O-00000002")

        await place(client, tenant, renew, account="A00000001")

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["version"], latest["orderNumber"], latest["termEndDate"]) == (
            2,
            "O-00000003",
            "2026-01-01",
        )

    async def test_an_unknown_or_foreign_order_is_not_found(self, client, tenant, other_tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])

        assert_refused(await delete(client, tenant, "O-00000404"), 404, 40)
        assert_refused(await delete(client, other_tenant, "O-00000001"), 404, 40)
        assert (await subscription(client, tenant, NUMBER))["version"] == 1

    async def test_the_catalog_rate_plan_is_free_to_delete_once_the_order_is_gone(
        self, client, tenant
    ):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])
        await delete(client, tenant, "O-00000001")

        response = await client.delete(
            f"/v1/object/product-rate-plan/{plan.id}", headers=tenant.headers
        )

        assert response.status_code == 200, response.text


async def test_deleting_an_account_deletes_its_orders_subscriptions_and_invoices(
    client, tenant, database
):
    plan = await make_catalog_plan(client, tenant)
    await place(client, tenant, [create_action(plan)], **RUN_BILLING)
    await place(
        client,
        tenant,
        change(NUMBER, action("AddProduct", {"productRatePlanId": plan.id})),
        account="A00000001",
        **RUN_BILLING,
    )

    response = await client.delete("/v1/accounts/A00000001", headers=tenant.headers)

    assert response.status_code == 200, response.text
    assert await rows(database, tenant) == [0] * len(MODELS)
