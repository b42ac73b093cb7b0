"""Orders: creating subscriptions for new and existing accounts, the answers Zuora's clients
read, the orders read back, and every refusal (which stores nothing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.orders.models import Order, OrderAction
from asyncgate.billing.subscriptions.models import Subscription, SubscriptionCharge
from tests.billing.api import OBJECT_ID, assert_refused, create_account, get_account
from tests.billing.catalog_api import make_product, make_rate_plan
from tests.billing.orders_api import (
    EVERGREEN,
    Plan,
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
    post_order,
    seats,
    setup_fee,
    subscription,
    termed,
)
from tests.crud.support import count, create_object

SDK_VERSION = {"Zuora-Version": "2025-08-12"}


async def stored_counts(database, tenant) -> list[int]:
    models = (Account, Order, OrderAction, Subscription, SubscriptionCharge)
    return [await count(database, model, tenant) for model in models]


class TestCreateSubscription:
    async def test_a_new_account_subscribes_to_a_catalog_rate_plan(self, client, tenant):
        plan = await make_catalog_plan(
            client, tenant, monthly_fee(100), seats(10, 3), setup_fee(50)
        )

        answer = await place(client, tenant, [create_action(plan)])

        assert answer == {
            "success": True,
            "orderNumber": "O-00000001",
            "accountNumber": "A00000001",
            "status": "Completed",
            "subscriptionNumbers": ["A-S00000001"],
        }
        account = await get_account(client, tenant, "A00000001")
        assert account["basicInfo"]["name"] == "Analytical Engines"
        assert account["billToContact"]["firstName"] == "Ada"
        created = await subscription(client, tenant, "A-S00000001")
        assert OBJECT_ID.match(created["id"])
        assert {
            key: created[key]
            for key in (
                "version",
                "isLatestVersion",
                "status",
                "termType",
                "accountNumber",
                "orderNumber",
                "contractEffectiveDate",
                "subscriptionStartDate",
                "termStartDate",
                "termEndDate",
                "subscriptionEndDate",
                "initialTerm",
                "currentTerm",
                "renewalTerm",
                "autoRenew",
                "contractedMrr",
                "totalContractedValue",
            )
        } == {
            "version": 1,
            "isLatestVersion": True,
            "status": "Active",
            "termType": "TERMED",
            "accountNumber": "A00000001",
            "orderNumber": "O-00000001",
            "contractEffectiveDate": "2024-01-01",
            "subscriptionStartDate": "2024-01-01",
            "termStartDate": "2024-01-01",
            "termEndDate": "2025-01-01",
            "subscriptionEndDate": "2025-01-01",
            "initialTerm": 12,
            "currentTerm": 12,
            "renewalTerm": 12,
            "autoRenew": False,
            "contractedMrr": 130,
            "totalContractedValue": 1200 + 360 + 50,
        }
        [rate_plan] = created["ratePlans"]
        assert (rate_plan["productRatePlanId"], rate_plan["productName"]) == (plan.id, "Gold")
        fee, seat, setup = charges_of(created)
        assert [c["number"] for c in (fee, seat, setup)] == [
            "C-00000001",
            "C-00000002",
            "C-00000003",
        ]
        assert (fee["model"], fee["price"], fee["quantity"], fee["mrr"]) == (
            "FlatFee",
            100,
            None,
            100,
        )
        assert (seat["model"], seat["price"], seat["quantity"], seat["mrr"]) == (
            "PerUnit",
            10,
            3,
            30,
        )
        assert (fee["effectiveStartDate"], fee["effectiveEndDate"]) == ("2024-01-01", "2025-01-01")
        # A one-time charge is effective on its day.
        assert (setup["type"], setup["effectiveEndDate"], setup["mrr"]) == (
            "OneTime",
            "2024-01-02",
            0,
        )
        assert fee["chargedThroughDate"] is None

    async def test_numbers_follow_sequences_of_each_tenant(self, client, tenant, other_tenant):
        plan = await make_catalog_plan(client, tenant)
        elsewhere = await make_catalog_plan(client, other_tenant)

        first = await place(client, tenant, [create_action(plan)])
        second = await place(client, tenant, [create_action(plan)], account="A00000001")
        other = await place(client, other_tenant, [create_action(elsewhere)])

        assert (second["orderNumber"], second["subscriptionNumbers"]) == (
            "O-00000002",
            ["A-S00000002"],
        )
        assert (other["orderNumber"], other["subscriptionNumbers"]) == (
            first["orderNumber"],
            first["subscriptionNumbers"],
        )
        assert charges_of(await subscription(client, tenant, "A-S00000002"))[0]["number"] == (
            "C-00000002"
        )

    async def test_chosen_numbers_are_kept_and_skipped_by_the_sequences(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        chosen = await place(
            client,
            tenant,
            [create_action(plan, subscriptionNumber="A-S00000001")],
            orderNumber="O-00000001",
        )
        generated = await place(client, tenant, [create_action(plan)], account="A00000001")

        assert (chosen["orderNumber"], chosen["subscriptionNumbers"]) == (
            "O-00000001",
            ["A-S00000001"],
        )
        assert (generated["orderNumber"], generated["subscriptionNumbers"]) == (
            "O-00000002",
            ["A-S00000002"],
        )

    async def test_an_existing_account_subscribes_by_rate_plan_number(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        account = await create_account(client, tenant)

        answer = await place(
            client,
            tenant,
            [create_action({"productRatePlanNumber": plan.number})],
            account=account["accountNumber"],
        )

        created = await subscription(client, tenant, answer["subscriptionNumbers"][0])
        assert created["accountId"] == account["accountId"]
        assert created["ratePlans"][0]["productRatePlanNumber"] == plan.number

    async def test_an_evergreen_subscription_has_no_end(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        await place(client, tenant, [create_action(plan, terms=EVERGREEN)])

        created = await subscription(client, tenant, "A-S00000001")
        assert (created["termType"], created["termEndDate"], created["subscriptionEndDate"]) == (
            "EVERGREEN",
            None,
            None,
        )
        assert (created["currentTerm"], created["totalContractedValue"]) == (None, None)
        assert charges_of(created)[0]["effectiveEndDate"] is None

    async def test_terms_start_where_given_and_renew_as_long_as_the_initial_term(
        self, client, tenant
    ):
        plan = await make_catalog_plan(client, tenant)
        terms = {
            "initialTerm": {
                "termType": "TERMED",
                "period": 3,
                "periodType": "Month",
                "startDate": "2024-01-31",
            },
            "autoRenew": True,
            "renewalSetting": "RENEW_TO_EVERGREEN",
        }

        await place(client, tenant, [create_action(plan, terms=terms, on="2024-01-31")])

        created = await subscription(client, tenant, "A-S00000001")
        assert (created["termStartDate"], created["termEndDate"]) == ("2024-01-31", "2024-04-30")
        assert (created["renewalTerm"], created["renewalTermPeriodType"]) == (3, "Month")
        assert (created["autoRenew"], created["renewalSetting"]) == (True, "RENEW_TO_EVERGREEN")

    async def test_charge_overrides_set_the_price_and_quantity(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, monthly_fee(100), seats(10, 3))
        fee_id, seats_id = plan.charge_ids
        overridden = {
            "productRatePlanId": plan.id,
            "chargeOverrides": [
                {
                    "productRatePlanChargeId": fee_id,
                    "pricing": {
                        "recurringFlatFee": {"listPrice": 80, "priceChangeOption": "NoChange"}
                    },
                },
                {
                    "productRatePlanChargeId": seats_id,
                    "pricing": {"recurringPerUnit": {"quantity": 12}},
                    "isBillable": None,
                },
            ],
        }

        await place(client, tenant, [create_action(overridden)])

        fee, seat = charges_of(await subscription(client, tenant, "A-S00000001"))
        assert (fee["price"], seat["price"], seat["quantity"]) == (80, 10, 12)

    async def test_charges_start_on_the_trigger_date_of_their_trigger_event(self, client, tenant):
        plan = await make_catalog_plan(
            client,
            tenant,
            monthly_fee(100),
            setup_fee(50, TriggerEvent="ServiceActivation"),
        )
        create = create_action(plan)
        create["triggerDates"] = [
            {"name": "ContractEffective", "triggerDate": "2024-01-01"},
            {"name": "ServiceActivation", "triggerDate": "2024-01-10"},
        ]

        await place(client, tenant, [create])

        created = await subscription(client, tenant, "A-S00000001")
        fee, setup = charges_of(created)
        assert (fee["effectiveStartDate"], setup["effectiveStartDate"]) == (
            "2024-01-01",
            "2024-01-10",
        )
        assert created["serviceActivationDate"] == "2024-01-10"
        assert created["customerAcceptanceDate"] == "2024-01-01"

    async def test_a_bill_cycle_day_of_0_is_set_to_the_first_charges_day(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)

        await place(
            client,
            tenant,
            [create_action(plan, on="2024-01-15")],
            newAccount=new_account(billCycleDay=0),
        )

        account = await get_account(client, tenant, "A00000001")
        assert account["billingAndPayment"]["billCycleDay"] == 15

    async def test_custom_fields_of_the_order_and_the_subscription_are_kept(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        entry = {"orderActions": [create_action(plan)], "customFields": {"Region__c": "EMEA"}}

        await place(
            client,
            tenant,
            entry,
            customFields={"Channel__c": "web"},
            newAccount=new_account(customFields={"Tier__c": "gold"}),
        )

        assert (await subscription(client, tenant, "A-S00000001"))["Region__c"] == "EMEA"
        assert (await get_account(client, tenant, "A00000001"))["basicInfo"]["Tier__c"] == "gold"
        order = (await get_json(client, tenant, "/v1/orders/O-00000001"))["order"]
        assert order["customFields"] == {"Channel__c": "web"}
        assert order["subscriptions"][0]["customFields"] == {"Region__c": "EMEA"}

    async def test_a_new_accounts_comma_separated_email_addresses_are_kept(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        addresses = "finance@example.com, cfo@example.com"

        await place(
            client,
            tenant,
            [create_action(plan)],
            newAccount=new_account(additionalEmailAddresses=addresses),
        )

        account = await get_account(client, tenant, "A00000001")
        assert account["billingAndPayment"]["additionalEmailAddresses"] == [
            "finance@example.com",
            "cfo@example.com",
        ]

    async def test_the_sdks_version_reads_subscriptions_with_their_status(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        response = await client.post(
            "/v1/orders",
            json=order_body([create_action(plan)]),
            headers={**tenant.headers, **SDK_VERSION},
            params={"returnIds": "true"},
        )

        answer = response.json()
        assert answer["subscriptions"] == [
            {
                "subscriptionNumber": "A-S00000001",
                "status": "Active",
                "subscriptionId": answer["subscriptionIds"][0],
            }
        ]
        assert "subscriptionNumbers" not in answer
        assert all(OBJECT_ID.match(answer[key]) for key in ("orderId", "accountId"))
        created = await subscription(client, tenant, answer["subscriptionIds"][0])
        assert created["subscriptionNumber"] == "A-S00000001"

    async def test_an_order_retried_with_its_idempotency_key_is_placed_once(
        self, client, tenant, database
    ):
        plan = await make_catalog_plan(client, tenant)
        body = order_body([create_action(plan)])
        headers = {**tenant.headers, "Idempotency-Key": "order-1"}

        first = await client.post("/v1/orders", json=body, headers=headers)
        again = await client.post("/v1/orders", json=body, headers=headers)

        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert await count(database, Order, tenant) == 1


class TestReadingOrders:
    async def test_an_order_shows_its_subscriptions_versions_and_actions(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan, on="2024-01-05")], description="First")
        await place(
            client,
            tenant,
            change(
                "A-S00000001", action("AddProduct", {"productRatePlanId": plan.id}, on="2024-02-01")
            ),
            account="A00000001",
            order_date="2024-02-01",
        )

        first = (await get_json(client, tenant, "/v1/orders/O-00000001"))["order"]
        second = (await get_json(client, tenant, "/v1/orders/O-00000002"))["order"]

        assert (first["orderNumber"], first["orderDate"], first["description"]) == (
            "O-00000001",
            "2024-01-01",
            "First",
        )
        assert (first["status"], first["currency"], first["existingAccountNumber"]) == (
            "Completed",
            "USD",
            "A00000001",
        )
        [created] = first["subscriptions"]
        assert (created["baseVersion"], created["newVersion"]) == (None, 1)
        [create] = created["orderActions"]
        assert create["type"] == "CreateSubscription"
        assert create["triggerDates"][0] == {
            "name": "ContractEffective",
            "triggerDate": "2024-01-05",
        }
        rate_plan = create["createSubscription"]["subscribeToRatePlans"][0]
        assert (rate_plan["productRatePlanId"], rate_plan["productRatePlanNumber"]) == (
            plan.id,
            plan.number,
        )
        [changed] = second["subscriptions"]
        assert (changed["subscriptionNumber"], changed["baseVersion"], changed["newVersion"]) == (
            "A-S00000001",
            1,
            2,
        )
        added = changed["orderActions"][0]["addProduct"]
        latest = await subscription(client, tenant, "A-S00000001")
        assert added["newRatePlanId"] == latest["ratePlans"][1]["id"]

    async def test_an_unknown_or_foreign_order_is_not_found(self, client, tenant, other_tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])

        unknown = await client.get("/v1/orders/O-00000009", headers=tenant.headers)
        foreign = await client.get("/v1/orders/O-00000001", headers=other_tenant.headers)

        assert_refused(unknown, 404, 40)
        assert_refused(foreign, 404, 40)


def create(plan_id: str, **extra) -> dict:
    return create_action({"productRatePlanId": plan_id}, **extra)


def _refusals() -> dict[str, tuple[Callable[[str], dict], int, int]]:
    """Bodies, built from a rate plan's ID, refused with their status and category."""
    return {
        "no account": (lambda p: {**order_body([create(p)]), "newAccount": None}, 400, 20),
        "two accounts": (lambda p: order_body([create(p)], existingAccountNumber="A1"), 400, 20),
        "unknown account": (lambda p: order_body([create(p)], account="A09999999"), 400, 20),
        "unknown rate plan": (lambda p: order_body([create("0" * 32)]), 400, 20),
        "unknown field": (lambda p: order_body([create(p)], colour="blue"), 400, 21),
        "a date as a timestamp": (lambda p: order_body([create(p)], order_date=0), 400, 20),
        "a period as a string": (
            lambda p: order_body(
                [create(p, terms={"initialTerm": {"termType": "TERMED", "period": "12"}})]
            ),
            400,
            20,
        ),
        "unknown action field": (lambda p: order_body([{**create(p), "ramp": {}}]), 400, 21),
        "unsupported action": (lambda p: order_body([create(p), {"type": "ChangePlan"}]), 400, 20),
        "details of another type": (
            lambda p: order_body([{**create(p), "addProduct": {"productRatePlanId": p}}]),
            400,
            20,
        ),
        "no terms": (
            lambda p: order_body(
                [
                    {
                        "type": "CreateSubscription",
                        "createSubscription": {"subscribeToRatePlans": [{"productRatePlanId": p}]},
                    }
                ]
            ),
            400,
            22,
        ),
        "termed without period": (
            lambda p: order_body([create(p, terms={"initialTerm": {"termType": "TERMED"}})]),
            400,
            22,
        ),
        "no rate plan": (
            lambda p: order_body(
                [
                    {
                        "type": "CreateSubscription",
                        "createSubscription": {"subscribeToRatePlans": [], "terms": termed()},
                    }
                ]
            ),
            400,
            20,
        ),
        "first action not a creation": (
            lambda p: order_body([action("AddProduct", {"productRatePlanId": p})]),
            400,
            22,
        ),
        "payment collection": (
            lambda p: order_body([create(p)], processingOptions={"collectPayment": True}),
            400,
            20,
        ),
        "draft invoices": (
            lambda p: order_body(
                [create(p)],
                processingOptions={
                    "runBilling": True,
                    "billingOptions": {"generateDraftInvoice": True},
                },
            ),
            400,
            20,
        ),
        "return category": (lambda p: order_body([create(p)], category="Return"), 400, 20),
        "no order date": (
            lambda p: {k: v for k, v in order_body([create(p)]).items() if k != "orderDate"},
            400,
            22,
        ),
        "rate plan not yet available": (
            lambda p: order_body([create(p, on="2023-06-01")], order_date="2023-06-01"),
            400,
            30,
        ),
        "charge starting after the term": (
            lambda p: order_body(
                [
                    create(
                        p,
                        terms={
                            "initialTerm": {
                                "termType": "TERMED",
                                "period": 1,
                                "startDate": "2024-01-01",
                            }
                        },
                        on="2024-03-01",
                    )
                ]
            ),
            400,
            30,
        ),
        "currency without price": (
            lambda p: order_body([create(p)], newAccount=new_account(currency="EUR")),
            400,
            30,
        ),
        "new account without contact": (
            lambda p: order_body(
                [create(p)], newAccount={"name": "X", "currency": "USD", "billCycleDay": 1}
            ),
            400,
            22,
        ),
        "custom field without __c": (
            lambda p: order_body([create(p)], newAccount=new_account(customFields={"Region": 1})),
            400,
            20,
        ),
        "email addresses as a list": (
            lambda p: order_body(
                [create(p)], newAccount=new_account(additionalEmailAddresses=["a@example.com"])
            ),
            400,
            20,
        ),
        "an empty email address": (
            lambda p: order_body(
                [create(p)], newAccount=new_account(additionalEmailAddresses="a@example.com,")
            ),
            400,
            20,
        ),
        "bill cycle day out of range": (
            lambda p: order_body([create(p)], newAccount=new_account(billCycleDay=32)),
            400,
            20,
        ),
        "a term ending past the calendar": (
            lambda p: order_body(
                [
                    create(
                        p,
                        terms={
                            "initialTerm": {
                                "termType": "TERMED",
                                "period": 12,
                                "startDate": "9999-12-01",
                            }
                        },
                        on="9999-12-01",
                    )
                ],
                order_date="9999-12-01",
            ),
            400,
            20,
        ),
        "an empty rate plan ID": (
            lambda p: order_body([create_action({"productRatePlanId": ""})]),
            400,
            20,
        ),
        "a rate plan number longer than any": (
            lambda p: order_body([create_action({"productRatePlanNumber": "P" * 101})]),
            400,
            20,
        ),
        "a renewal term past 32 bits": (
            lambda p: order_body(
                [create(p, terms=termed(renewalTerms=[{"period": 2**31, "periodType": "Day"}]))]
            ),
            400,
            20,
        ),
        "an evergreen term of a period past 64 bits": (
            lambda p: order_body(
                [create(p, terms={"initialTerm": {"termType": "EVERGREEN", "period": 2**64}})]
            ),
            400,
            20,
        ),
        "a term of a billion months": (
            lambda p: order_body(
                [
                    create(
                        p,
                        terms={
                            "initialTerm": {
                                "termType": "TERMED",
                                "period": 1_000_000_000,
                                "startDate": "2024-01-01",
                            }
                        },
                    )
                ]
            ),
            400,
            20,
        ),
    }


REFUSALS = _refusals()


class TestRefusedOrders:
    @pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
    async def test_a_refused_order_stores_nothing(self, client, tenant, database, case):
        plan = await make_catalog_plan(client, tenant)
        build, status, category = REFUSALS[case]
        before = await stored_counts(database, tenant)

        response = await client.post("/v1/orders", json=build(plan.id), headers=tenant.headers)

        assert_refused(response, status, category)
        assert await stored_counts(database, tenant) == before

    async def test_messages_name_what_is_wrong(self, client, tenant):
        unknown = "0" * 32

        response = await client.post(
            "/v1/orders",
            json=order_body([create_action({"productRatePlanId": unknown})]),
            headers=tenant.headers,
        )

        body = assert_refused(response, 400, 20)
        assert body["reasons"][0]["message"] == f"productRatePlanId {unknown} does not exist"
        assert body["reasons"][0]["code"] == 50001620

    async def test_numbers_already_in_use_are_conflicts(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        await place(client, tenant, [create_action(plan)])

        orders = await client.post(
            "/v1/orders",
            json=order_body([create_action(plan)], account="A00000001", orderNumber="O-00000001"),
            headers=tenant.headers,
        )
        subscriptions = await client.post(
            "/v1/orders",
            json=order_body(
                [create_action(plan, subscriptionNumber="A-S00000001")], account="A00000001"
            ),
            headers=tenant.headers,
        )

        assert "O-00000001" in assert_refused(orders, 409, 30)["reasons"][0]["message"]
        assert "A-S00000001" in assert_refused(subscriptions, 409, 30)["reasons"][0]["message"]

    async def test_charges_that_bill_on_another_day_than_the_accounts_are_refused(
        self, client, tenant
    ):
        plan = await make_catalog_plan(
            client, tenant, monthly_fee(100, BillCycleType="SubscriptionStartDay")
        )

        response = await client.post(
            "/v1/orders", json=order_body([create_action(plan)]), headers=tenant.headers
        )

        assert "DefaultFromCustomer" in assert_refused(response, 400, 30)["reasons"][0]["message"]

    async def test_overrides_must_fit_the_rate_plans_charges(self, client, tenant):
        plan = await make_catalog_plan(client, tenant, monthly_fee(100))
        other = await make_catalog_plan(client, tenant, product="Silver")

        def overriding(charge_id: str, pricing: dict) -> dict:
            return order_body(
                [
                    create_action(
                        {
                            "productRatePlanId": plan.id,
                            "chargeOverrides": [
                                {"productRatePlanChargeId": charge_id, "pricing": pricing}
                            ],
                        }
                    )
                ]
            )

        foreign = await client.post(
            "/v1/orders",
            json=overriding(other.charge_ids[0], {"recurringFlatFee": {"listPrice": 1}}),
            headers=tenant.headers,
        )
        misfit = await client.post(
            "/v1/orders",
            json=overriding(plan.charge_ids[0], {"recurringPerUnit": {"quantity": 2}}),
            headers=tenant.headers,
        )

        assert_refused(foreign, 400, 20)
        assert "recurringPerUnit" in assert_refused(misfit, 400, 20)["reasons"][0]["message"]

    async def test_another_tenants_catalog_and_accounts_are_unknown(
        self, client, tenant, other_tenant
    ):
        theirs = await make_catalog_plan(client, other_tenant)
        await place(client, other_tenant, [create_action(theirs)])
        ours = await make_catalog_plan(client, tenant)

        foreign_plan = await client.post(
            "/v1/orders", json=order_body([create_action(theirs)]), headers=tenant.headers
        )
        foreign_account = await client.post(
            "/v1/orders",
            json=order_body([create_action(ours)], account="A00000001"),
            headers=tenant.headers,
        )

        assert_refused(foreign_plan, 400, 20)
        assert_refused(foreign_account, 400, 20)

    async def test_an_expired_rate_plan_is_refused(self, client, tenant):
        product_id = await make_product(client, tenant, EffectiveEndDate="2024-06-30")
        rate_plan_id = await make_rate_plan(client, tenant, product_id)
        await create_object(
            client,
            tenant,
            "product-rate-plan-charge",
            {**monthly_fee(10), "ProductRatePlanId": rate_plan_id},
        )

        response = await client.post(
            "/v1/orders",
            json=order_body(
                [create_action({"productRatePlanId": rate_plan_id}, on="2024-07-01")],
                order_date="2024-07-01",
            ),
            headers=tenant.headers,
        )

        assert "Expired" in assert_refused(response, 400, 30)["reasons"][0]["message"]


async def test_a_rate_plan_in_use_cannot_be_deleted_from_the_catalog(client, tenant):
    plan = await make_catalog_plan(client, tenant)
    await post_order(client, tenant, order_body([create_action(plan)]))

    response = await client.delete(
        f"/v1/object/product-rate-plan/{plan.id}", headers=tenant.headers
    )

    assert response.status_code == 400
    assert response.json()["Errors"][0]["Code"] == "INVALID_VALUE"


class TestTheCalendarsEnds:
    """Orders bill from 1900-01-01 to 9998-12-31: a year's room on each side leaves every
    billing period (a year at most) in the calendar, so no subscription is stored that
    billing or its own reading could not compute."""

    @pytest.fixture
    async def plan(self, client, tenant) -> Plan:
        """A rate plan available to the calendar's end, billed yearly."""
        product = await make_product(client, tenant, EffectiveEndDate="9999-12-31")
        rate_plan = await make_rate_plan(client, tenant, product)
        fee = {**monthly_fee(1200, BillingPeriod="Annual"), "ProductRatePlanId": rate_plan}
        return Plan(
            rate_plan, "", [await create_object(client, tenant, "product-rate-plan-charge", fee)]
        )

    @pytest.mark.parametrize(
        "body",
        [
            lambda plan: order_body([create_action(plan)], order_date="9999-01-01"),
            lambda plan: order_body([create_action(plan, on="1899-12-31")]),
            lambda plan: order_body([create_action(plan, on="9998-06-01", terms=termed(12))]),
        ],
        ids=["ordered after it", "effective before it", "a term ending after it"],
    )
    async def test_a_date_past_the_billing_days_is_invalid(
        self, client, tenant, database, plan, body
    ):
        response = await client.post("/v1/orders", json=body(plan), headers=tenant.headers)

        assert_refused(response, 400, 20)
        assert await stored_counts(database, tenant) == [0] * 5

    async def test_a_term_up_to_the_last_billing_day_is_billed_and_read(self, client, tenant, plan):
        billing = {"runBilling": True, "billingOptions": {"targetDate": "9998-12-31"}}

        await place(
            client,
            tenant,
            [create_action(plan, on="9997-12-31", terms=termed(12))],
            order_date="9997-12-31",
            processingOptions=billing,
        )

        latest = await subscription(client, tenant, "A-S00000001")
        assert latest["termEndDate"] == "9998-12-31"

    async def test_billing_an_evergreen_year_past_the_calendar_is_invalid(
        self, client, tenant, database, plan
    ):
        billing = {"runBilling": True, "billingOptions": {"targetDate": "9998-12-31"}}
        body = order_body(
            [create_action(plan, on="9998-06-01", terms=EVERGREEN)],
            order_date="9998-06-01",
            processingOptions=billing,
        )

        response = await client.post("/v1/orders", json=body, headers=tenant.headers)

        assert_refused(response, 400, 20)
        assert await stored_counts(database, tenant) == [0] * 5
