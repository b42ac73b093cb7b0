"""Reading subscriptions: one version by ID or the latest by number, and an account's
subscriptions page by page."""

from __future__ import annotations

from tests.billing.api import assert_refused
from tests.billing.orders_api import (
    action,
    change,
    create_action,
    get_json,
    make_catalog_plan,
    place,
    subscription,
)


class TestReadingSubscriptions:
    async def test_the_number_reads_the_latest_version_and_an_id_its_own(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])
        first = await subscription(client, tenant, "A-S00000001")
        await place(
            client,
            tenant,
            change("A-S00000001", action("TermsAndConditions", {"autoRenew": True})),
            account="A00000001",
        )

        latest = await subscription(client, tenant, "A-S00000001")
        old = await subscription(client, tenant, first["id"])

        assert (latest["version"], latest["isLatestVersion"], latest["autoRenew"]) == (
            2,
            True,
            True,
        )
        assert (old["version"], old["isLatestVersion"], old["autoRenew"]) == (1, False, False)
        assert old["id"] == first["id"] != latest["id"]

    async def test_an_unknown_subscription_is_not_found(self, client, tenant):
        response = await client.get("/v1/subscriptions/A-S00000404", headers=tenant.headers)

        assert "A-S00000404" in assert_refused(response, 404, 40)["reasons"][0]["message"]

    async def test_segments_other_than_the_last_are_not_listed(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])

        response = await client.get(
            "/v1/subscriptions/A-S00000001",
            params={"charge-detail": "all-segments"},
            headers=tenant.headers,
        )

        assert_refused(response, 400, 20)


class TestAccountSubscriptions:
    async def test_an_accounts_latest_versions_are_listed_most_recent_first(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)], [create_action(plan)])
        await place(client, tenant, [create_action(plan)], account="A00000001")
        await place(client, tenant, [create_action(plan)])  # another account's
        await place(
            client,
            tenant,
            change("A-S00000001", action("TermsAndConditions", {"autoRenew": True})),
            account="A00000001",
        )

        listed = await get_json(client, tenant, "/v1/subscriptions/accounts/A00000001")

        assert [(s["subscriptionNumber"], s["version"]) for s in listed["subscriptions"]] == [
            ("A-S00000001", 2),
            ("A-S00000003", 1),
            ("A-S00000002", 1),
        ]
        assert "nextPage" not in listed
        assert listed["success"] is True

    async def test_the_list_is_paged(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, *([create_action(plan)] for _ in range(3)))
        account_id = (await subscription(client, tenant, "A-S00000001"))["accountId"]

        first = await get_json(
            client, tenant, f"/v1/subscriptions/accounts/{account_id}?pageSize=2"
        )
        second = await get_json(client, tenant, first["nextPage"])

        assert len(first["subscriptions"]) == 2
        assert len(second["subscriptions"]) == 1
        assert "nextPage" not in second

    async def test_an_unknown_or_foreign_account_is_not_found(self, client, tenant, other_tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])

        for who, key in ((tenant, "A09999999"), (other_tenant, "A00000001")):
            response = await client.get(f"/v1/subscriptions/accounts/{key}", headers=who.headers)
            assert_refused(response, 404, 40)
