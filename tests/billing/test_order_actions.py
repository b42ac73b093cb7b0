"""The order actions on an existing subscription: each writes a new version, and every rule
Zuora enforces refuses the order with a clear error, changing nothing."""

from __future__ import annotations

import pytest

from tests.billing.api import assert_refused
from tests.billing.orders_api import (
    EVERGREEN,
    Plan,
    action,
    change,
    charges_of,
    create_action,
    make_catalog_plan,
    monthly_fee,
    order_body,
    place,
    quantity_update,
    seats,
    subscription,
)

NUMBER = "A-S00000001"


@pytest.fixture
async def plan(client, tenant) -> Plan:
    """A subscription A-S00000001 from 2024-01-01 for 12 months: a monthly fee of 100 and 5
    seats at 10 (charges C-00000001 and C-00000002)."""
    plan = await make_catalog_plan(client, tenant, monthly_fee(100), seats(10, 5))
    await place(client, tenant, [create_action(plan)])
    return plan


async def amend(client, tenant, *actions: dict, order_date: str = "2024-01-01") -> dict:
    return await place(
        client, tenant, change(NUMBER, *actions), account="A00000001", order_date=order_date
    )


async def refused(client, tenant, *actions: dict) -> dict:
    """The answer to an order of ``actions`` on the subscription, which must be refused; the
    subscription must be as it was."""
    before = await subscription(client, tenant, NUMBER)
    response = await client.post(
        "/v1/orders",
        json=order_body(change(NUMBER, *actions), account="A00000001"),
        headers=tenant.headers,
    )
    assert response.status_code >= 400, response.text
    assert await subscription(client, tenant, NUMBER) == before
    return response


def by_number(subscription: dict) -> dict[str, dict]:
    return {charge["number"]: charge for charge in charges_of(subscription)}


class TestAddProduct:
    async def test_a_rate_plan_is_added_from_the_actions_date_in_a_new_version(
        self, client, tenant, plan
    ):
        extra = await make_catalog_plan(client, tenant, monthly_fee(30), product="Support")
        first = await subscription(client, tenant, NUMBER)

        await amend(
            client, tenant, action("AddProduct", {"productRatePlanId": extra.id}, on="2024-03-15")
        )

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["version"], latest["orderNumber"], latest["contractedMrr"]) == (
            2,
            "O-00000002",
            180,
        )
        original, added = latest["ratePlans"]
        assert (original["lastChangeType"], added["lastChangeType"]) == (None, "Add")
        assert original["originalRatePlanId"] == first["ratePlans"][0]["id"]
        assert original["id"] != first["ratePlans"][0]["id"]
        [support] = added["ratePlanCharges"]
        assert (support["effectiveStartDate"], support["effectiveEndDate"]) == (
            "2024-03-15",
            "2025-01-01",
        )
        assert support["number"] == "C-00000003"
        # The first version stays as it was, readable by its ID.
        old = await subscription(client, tenant, first["id"])
        assert (old["version"], old["isLatestVersion"], len(old["ratePlans"])) == (1, False, 1)

    @pytest.mark.parametrize(
        ("day", "why"),
        [("2023-12-31", "before subscription"), ("2025-01-01", "not before the current term")],
    )
    async def test_a_product_is_added_within_the_term(self, client, tenant, plan, day, why):
        response = await refused(
            client, tenant, action("AddProduct", {"productRatePlanId": plan.id}, on=day)
        )

        assert why in assert_refused(response, 400, 30)["reasons"][0]["message"]

    async def test_an_unknown_rate_plan_is_refused(self, client, tenant, plan):
        response = await refused(
            client, tenant, action("AddProduct", {"productRatePlanNumber": "PRP-404"})
        )

        assert_refused(response, 400, 20)


class TestUpdateProduct:
    async def test_a_new_quantity_starts_a_new_segment_on_its_date(self, client, tenant, plan):
        first = await subscription(client, tenant, NUMBER)
        rate_plan_id = first["ratePlans"][0]["id"]
        update = {
            "ratePlanId": rate_plan_id,
            "chargeUpdates": [
                {
                    "chargeNumber": "C-00000002",
                    "pricing": {
                        "recurringPerUnit": {"quantity": 8, "priceChangeOption": "NoChange"}
                    },
                }
            ],
        }

        await amend(client, tenant, action("UpdateProduct", update, on="2024-03-01"))

        latest = await subscription(client, tenant, NUMBER)
        seat = by_number(latest)["C-00000002"]
        assert (seat["segment"], seat["quantity"], seat["effectiveStartDate"]) == (
            2,
            8,
            "2024-03-01",
        )
        assert (seat["mrr"], latest["contractedMrr"]) == (80, 180)
        # 2 months of 5 seats and 10 of 8: the charge's contract value over both segments.
        assert seat["tcv"] == 2 * 50 + 10 * 80
        assert latest["ratePlans"][0]["lastChangeType"] == "Update"

    async def test_a_charge_is_named_by_its_catalog_charge_and_the_plan_by_product(
        self, client, tenant, plan
    ):
        update = {
            "productRatePlanNumber": plan.number,
            "chargeUpdates": [
                {
                    "productRatePlanChargeId": plan.charge_ids[1],
                    "pricing": {"recurringPerUnit": {"quantity": 2}},
                }
            ],
        }

        await amend(client, tenant, action("UpdateProduct", update, on="2024-02-01"))

        assert by_number(await subscription(client, tenant, NUMBER))["C-00000002"]["quantity"] == 2

    @pytest.mark.parametrize(
        ("charge", "day", "status", "category", "why"),
        [
            ("C-00000001", "2024-02-01", 400, 30, "only the quantity of a Recurring PerUnit"),
            ("C-00000099", "2024-02-01", 400, 20, "is not in rate plan"),
            ("C-00000002", "2023-12-01", 400, 30, "before subscription"),
        ],
        ids=["flat fee", "unknown charge", "before the start"],
    )
    async def test_what_cannot_change_is_refused(
        self, client, tenant, plan, charge, day, status, category, why
    ):
        response = await refused(client, tenant, quantity_update(plan, 3, charge=charge, on=day))

        assert why in assert_refused(response, status, category)["reasons"][0]["message"]

    async def test_a_quantity_changes_from_the_last_segments_start_on(self, client, tenant, plan):
        seat_charge = {"charge": "C-00000002"}
        await amend(client, tenant, quantity_update(plan, 8, on="2024-03-01", **seat_charge))

        response = await refused(
            client, tenant, quantity_update(plan, 9, on="2024-02-01", **seat_charge)
        )
        assert (
            "last segment starts on 2024-03-01"
            in assert_refused(response, 400, 30)["reasons"][0]["message"]
        )

    async def test_a_rate_plan_not_in_the_subscription_is_refused(self, client, tenant, plan):
        other = await make_catalog_plan(client, tenant, product="Silver")
        response = await refused(client, tenant, quantity_update(other, 3, charge="C-00000002"))

        assert (
            "is not in subscription" in assert_refused(response, 400, 20)["reasons"][0]["message"]
        )


class TestRemoveProduct:
    async def test_a_removed_rate_plans_charges_end_on_its_date(self, client, tenant, plan):
        rate_plan_id = (await subscription(client, tenant, NUMBER))["ratePlans"][0]["id"]

        await amend(
            client, tenant, action("RemoveProduct", {"ratePlanId": rate_plan_id}, on="2024-04-01")
        )

        latest = await subscription(client, tenant, NUMBER)
        [rate_plan] = latest["ratePlans"]
        assert rate_plan["lastChangeType"] == "Remove"
        assert {c["effectiveEndDate"] for c in rate_plan["ratePlanCharges"]} == {"2024-04-01"}
        assert (latest["contractedMrr"], latest["totalContractedValue"]) == (0, 3 * 150)

    async def test_what_is_not_there_cannot_be_removed(self, client, tenant, plan):
        await amend(client, tenant, action("RemoveProduct", {"productRatePlanId": plan.id}))
        first_version_id = (await subscription(client, tenant, NUMBER))["ratePlans"][0][
            "originalRatePlanId"
        ]

        again = await refused(
            client, tenant, action("RemoveProduct", {"ratePlanId": first_version_id})
        )
        unknown = await refused(client, tenant, action("RemoveProduct", {"ratePlanId": "0" * 32}))
        by_plan = await refused(
            client, tenant, action("RemoveProduct", {"productRatePlanId": plan.id})
        )

        assert "was removed" in assert_refused(again, 400, 30)["reasons"][0]["message"]
        assert_refused(unknown, 400, 20)
        assert_refused(by_plan, 400, 20)

    async def test_a_product_rate_plan_subscribed_twice_is_named_by_rate_plan(
        self, client, tenant, plan
    ):
        await amend(client, tenant, action("AddProduct", {"productRatePlanId": plan.id}))

        response = await refused(
            client, tenant, action("RemoveProduct", {"productRatePlanId": plan.id})
        )

        assert "name it by ratePlanId" in assert_refused(response, 400, 20)["reasons"][0]["message"]


class TestCancelSubscription:
    async def test_cancelling_at_the_end_of_the_term(self, client, tenant, plan):
        await amend(
            client, tenant, action("CancelSubscription", {"cancellationPolicy": "EndOfCurrentTerm"})
        )

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["status"], latest["subscriptionEndDate"]) == ("Cancelled", "2025-01-01")
        assert latest["contractedMrr"] == 0

    async def test_cancelling_on_a_date_ends_every_charge_then(self, client, tenant, plan):
        await amend(
            client,
            tenant,
            action(
                "CancelSubscription",
                {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": "2024-06-15"},
            ),
        )

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["status"], latest["subscriptionEndDate"]) == ("Cancelled", "2024-06-15")
        assert {c["effectiveEndDate"] for c in charges_of(latest)} == {"2024-06-15"}

    @pytest.mark.parametrize(
        ("details", "category", "why"),
        [
            (
                {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": "2023-12-31"},
                30,
                "before it starts",
            ),
            (
                {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": "2025-01-02"},
                30,
                "after its term ends",
            ),
            ({"cancellationPolicy": "SpecificDate"}, 22, "cancellationEffectiveDate"),
            ({"cancellationPolicy": "EndOfLastInvoicePeriod"}, 20, "cancellationPolicy"),
        ],
        ids=["before the start", "after the term", "no date", "unsupported policy"],
    )
    async def test_cancellation_dates_are_checked(
        self, client, tenant, plan, details, category, why
    ):
        response = await refused(client, tenant, action("CancelSubscription", details))

        assert why in assert_refused(response, 400, category)["reasons"][0]["message"]

    async def test_a_cancelled_subscription_takes_no_further_action(self, client, tenant, plan):
        cancel = action("CancelSubscription", {"cancellationPolicy": "EndOfCurrentTerm"})
        await amend(client, tenant, cancel)

        twice = await refused(client, tenant, cancel)
        add = await refused(client, tenant, action("AddProduct", {"productRatePlanId": plan.id}))

        assert "is cancelled" in assert_refused(twice, 400, 30)["reasons"][0]["message"]
        assert_refused(add, 400, 30)

    async def test_an_evergreen_subscription_has_no_term_to_end(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan, terms=EVERGREEN)])

        response = await refused(
            client, tenant, action("CancelSubscription", {"cancellationPolicy": "EndOfCurrentTerm"})
        )

        assert "evergreen" in assert_refused(response, 400, 30)["reasons"][0]["message"]


class TestRenewSubscription:
    async def test_a_renewal_starts_a_new_term_at_the_end_of_the_old(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        terms = {
            "initialTerm": {"termType": "TERMED", "period": 12},
            "renewalTerms": [{"period": 6, "periodType": "Month"}],
        }
        await place(client, tenant, [create_action(plan, terms=terms)])

        await amend(client, tenant, action("RenewSubscription", {}))

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["termStartDate"], latest["termEndDate"]) == ("2025-01-01", "2025-07-01")
        assert (latest["initialTerm"], latest["currentTerm"]) == (12, 6)
        assert charges_of(latest)[0]["effectiveEndDate"] == "2025-07-01"
        assert latest["subscriptionStartDate"] == "2024-01-01"

    async def test_renewing_to_evergreen_lifts_the_end(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        terms = {
            "initialTerm": {"termType": "TERMED", "period": 12},
            "renewalSetting": "RENEW_TO_EVERGREEN",
        }
        await place(client, tenant, [create_action(plan, terms=terms)])

        await amend(client, tenant, {"type": "RenewSubscription"})

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["termType"], latest["termEndDate"]) == ("EVERGREEN", None)
        assert charges_of(latest)[0]["effectiveEndDate"] is None

    async def test_removed_charges_keep_their_end(self, client, tenant, plan):
        extra = await make_catalog_plan(client, tenant, monthly_fee(30), product="Support")
        await amend(client, tenant, action("AddProduct", {"productRatePlanId": extra.id}))

        await amend(
            client,
            tenant,
            action("RemoveProduct", {"productRatePlanId": extra.id}, on="2024-05-01"),
            action("RenewSubscription", {}),
        )

        latest = await subscription(client, tenant, NUMBER)
        kept, removed = latest["ratePlans"]
        assert {c["effectiveEndDate"] for c in kept["ratePlanCharges"]} == {"2026-01-01"}
        assert removed["ratePlanCharges"][0]["effectiveEndDate"] == "2024-05-01"
        assert latest["version"] == 3

    async def test_an_evergreen_subscription_is_not_renewed(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan, terms=EVERGREEN)])

        response = await refused(client, tenant, action("RenewSubscription", {}))

        assert_refused(response, 400, 30)

    async def test_a_subscription_begun_evergreen_is_renewed_once_given_a_renewal_term(
        self, client, tenant
    ):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan, terms=EVERGREEN)])
        termed = {"lastTerm": {"termType": "TERMED", "period": 12}}
        await amend(client, tenant, action("TermsAndConditions", termed))

        response = await refused(client, tenant, action("RenewSubscription", {}))
        assert_refused(response, 400, 30)
        assert "renewalTerms" in response.json()["reasons"][0]["message"]

        renewal = {"renewalTerms": [{"period": 6, "periodType": "Month"}]}
        await amend(client, tenant, action("TermsAndConditions", renewal))
        await amend(client, tenant, action("RenewSubscription", {}))
        latest = await subscription(client, tenant, NUMBER)
        assert (latest["termStartDate"], latest["termEndDate"]) == ("2025-01-01", "2025-07-01")


class TestTermsAndConditions:
    async def test_renewal_settings_change(self, client, tenant, plan):
        details = {
            "autoRenew": True,
            "renewalSetting": "RENEW_TO_EVERGREEN",
            "renewalTerms": [{"period": 2, "periodType": "Year"}],
            "clearingExistingPaymentTerm": False,
        }

        await amend(client, tenant, action("TermsAndConditions", details))

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["autoRenew"], latest["renewalSetting"]) == (True, "RENEW_TO_EVERGREEN")
        assert (latest["renewalTerm"], latest["renewalTermPeriodType"]) == (2, "Year")
        assert latest["termEndDate"] == "2025-01-01"

    async def test_a_longer_current_term_moves_the_charges_end(self, client, tenant, plan):
        details = {"lastTerm": {"termType": "TERMED", "period": 24}}

        await amend(client, tenant, action("TermsAndConditions", details))

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["currentTerm"], latest["termEndDate"]) == (24, "2026-01-01")
        assert {c["effectiveEndDate"] for c in charges_of(latest)} == {"2026-01-01"}

    async def test_an_evergreen_term_lifts_the_end(self, client, tenant, plan):
        await amend(
            client, tenant, action("TermsAndConditions", {"lastTerm": {"termType": "EVERGREEN"}})
        )

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["termType"], latest["termEndDate"], latest["totalContractedValue"]) == (
            "EVERGREEN",
            None,
            None,
        )

    @pytest.mark.parametrize(
        ("details", "category"),
        [
            ({"lastTerm": {"termType": "TERMED"}}, 22),
            ({"clearingExistingBillToContact": True}, 20),
            ({"billToContactId": "0" * 32}, 21),
        ],
        ids=["termed without period", "clearing a contact", "changing a contact"],
    )
    async def test_what_is_not_supported_is_refused(self, client, tenant, plan, details, category):
        response = await refused(client, tenant, action("TermsAndConditions", details))

        assert_refused(response, 400, category)


class TestVersions:
    async def test_several_actions_of_one_order_make_one_version(self, client, tenant, plan):
        extra = await make_catalog_plan(client, tenant, monthly_fee(30), product="Support")

        await amend(
            client,
            tenant,
            action("AddProduct", {"productRatePlanId": extra.id}),
            action("TermsAndConditions", {"autoRenew": True}),
        )

        latest = await subscription(client, tenant, NUMBER)
        assert (latest["version"], latest["autoRenew"], len(latest["ratePlans"])) == (2, True, 2)

    async def test_a_subscription_of_another_account_is_refused(self, client, tenant, plan):
        await place(client, tenant, [create_action(plan)])

        response = await client.post(
            "/v1/orders",
            json=order_body(
                change("A-S00000002", action("TermsAndConditions", {"autoRenew": True})),
                account="A00000001",
            ),
            headers=tenant.headers,
        )

        assert "another account" in assert_refused(response, 400, 20)["reasons"][0]["message"]

    @pytest.mark.parametrize(
        "entries",
        [
            [
                change(NUMBER, {"type": "RenewSubscription"}),
                change(NUMBER, {"type": "RenewSubscription"}),
            ],
            [change("A-S00000404", {"type": "RenewSubscription"})],
        ],
        ids=["twice", "unknown"],
    )
    async def test_subscriptions_are_named_once_and_must_exist(self, client, tenant, plan, entries):
        response = await client.post(
            "/v1/orders", json=order_body(*entries, account="A00000001"), headers=tenant.headers
        )

        assert_refused(response, 400, 20)

    async def test_create_subscription_cannot_change_an_existing_one(self, client, tenant, plan):
        response = await refused(client, tenant, create_action(plan))

        assert_refused(response, 400, 20)

    async def test_another_tenants_subscription_is_unknown(
        self, client, tenant, other_tenant, plan
    ):
        theirs = await make_catalog_plan(client, other_tenant)
        await place(client, other_tenant, [create_action(theirs)])
        their_id = (await subscription(client, other_tenant, NUMBER))["id"]

        ours = await subscription(client, tenant, NUMBER)
        foreign = await client.get(f"/v1/subscriptions/{their_id}", headers=tenant.headers)

        assert ours["id"] != their_id
        assert_refused(foreign, 404, 40)
