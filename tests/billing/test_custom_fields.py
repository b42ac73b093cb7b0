"""Custom fields (``*__c``) hold what a Zuora custom field could: a name of letters, digits and
underscores of at most 64 characters, text of at most 255 characters, an integer of 64 bits, a
number, a boolean or null, at most 100 of them on an object. Anything else is refused and
nothing is stored; so are additional email addresses longer than Zuora's 1200 characters."""

from __future__ import annotations

import pytest

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.catalog.models import Product
from asyncgate.billing.schemas import MAX_CUSTOM_FIELDS, MAX_CUSTOM_TEXT
from asyncgate.http.errors import Category
from tests.billing.api import account_body, assert_refused, contact_body, get_account
from tests.billing.catalog_api import product_fields
from tests.billing.orders_api import create_action, make_catalog_plan, order_body
from tests.crud.support import count

LONGEST_NAME = "A" * 61 + "__c"
LARGEST = {
    LONGEST_NAME: "x" * MAX_CUSTOM_TEXT,
    "Low__c": -(2**63),
    "High__c": 2**63 - 1,
    "Ratio__c": 1e308,
    "Flag__c": False,
    "Empty__c": None,
}
INVALID_VALUES = {
    "long text": "x" * (MAX_CUSTOM_TEXT + 1),
    "integer past 64 bits": 2**63,
    "negative integer past 64 bits": -(2**63) - 1,
    "list": ["a"],
    "object": {"a": 1},
}
INVALID_NAMES = {
    "long name": "A" * 62 + "__c",
    "leading digit": "1st__c",
    "space": "First name__c",
    "only the suffix": "__c",
}


class TestAccounts:
    async def test_the_largest_values_are_kept(self, client, tenant):
        many = {f"Field{number}__c": number for number in range(MAX_CUSTOM_FIELDS - len(LARGEST))}
        body = account_body(**LARGEST, **many, billToContact=contact_body(**LARGEST))

        response = await client.post("/v1/accounts", json=body, headers=tenant.headers)

        assert response.status_code == 200, response.text
        account = await get_account(client, tenant, response.json()["accountId"])
        assert {name: account["basicInfo"][name] for name in LARGEST} == LARGEST

    @pytest.mark.parametrize("value", INVALID_VALUES.values(), ids=INVALID_VALUES.keys())
    async def test_a_value_no_custom_field_holds_is_invalid(self, client, tenant, database, value):
        for body in (
            account_body(Region__c=value),
            account_body(billToContact=contact_body(Region__c=value)),
        ):
            response = await client.post("/v1/accounts", json=body, headers=tenant.headers)

            refused = assert_refused(response, 400, Category.INVALID_VALUE)
            assert "Region__c" in refused["reasons"][0]["message"]
        assert await count(database, Account, tenant) == 0

    @pytest.mark.parametrize("name", INVALID_NAMES.values(), ids=INVALID_NAMES.keys())
    async def test_a_name_no_custom_field_has_is_an_unknown_field(
        self, client, tenant, database, name
    ):
        response = await client.post(
            "/v1/accounts", json=account_body(**{name: "x"}), headers=tenant.headers
        )

        assert_refused(response, 400, Category.UNKNOWN_FIELD)
        assert await count(database, Account, tenant) == 0

    async def test_more_than_the_most_custom_fields_are_refused(self, client, tenant, database):
        many = {f"Field{number}__c": number for number in range(MAX_CUSTOM_FIELDS + 1)}

        response = await client.post(
            "/v1/accounts", json=account_body(**many), headers=tenant.headers
        )

        assert_refused(response, 400, Category.INVALID_VALUE)
        assert await count(database, Account, tenant) == 0


class TestOtherObjects:
    async def test_a_crud_object_refuses_a_long_text(self, client, tenant, database):
        fields = product_fields(Region__c="x" * (MAX_CUSTOM_TEXT + 1))

        response = await client.post("/v1/object/product", json=fields, headers=tenant.headers)

        assert response.status_code == 400, response.text
        assert response.json()["Errors"][0]["Code"] == "INVALID_VALUE"
        assert await count(database, Product, tenant) == 0

    async def test_an_orders_custom_fields_are_bounded_alike(self, client, tenant):
        plan = await make_catalog_plan(client, tenant)
        entry = {"orderActions": [create_action(plan)], "customFields": {"Region__c": ["EMEA"]}}

        response = await client.post("/v1/orders", json=order_body(entry), headers=tenant.headers)

        assert_refused(response, 400, Category.INVALID_VALUE)


class TestAdditionalEmailAddresses:
    ADDRESS = "a" * 66 + "@example.com"  # 78 characters, 79 with its comma

    async def test_1200_characters_are_kept(self, client, tenant):
        addresses = [self.ADDRESS] * 15 + ["b" * 3 + "@example.com"]  # 1185 + 15 commas

        response = await client.post(
            "/v1/accounts",
            json=account_body(additionalEmailAddresses=addresses),
            headers=tenant.headers,
        )

        assert response.status_code == 200, response.text

    async def test_more_are_refused_as_a_list_or_as_crud_text(self, client, tenant, database):
        addresses = [self.ADDRESS] * 15 + ["bbbb@example.com"]

        response = await client.post(
            "/v1/accounts",
            json=account_body(additionalEmailAddresses=addresses),
            headers=tenant.headers,
        )
        assert_refused(response, 400, Category.INVALID_VALUE)
        crud = {
            "Name": "Acme",
            "Currency": "USD",
            "BillCycleDay": 1,
            "Status": "Draft",
            "AdditionalEmailAddresses": ",".join(addresses),
        }
        response = await client.post("/v1/object/account", json=crud, headers=tenant.headers)
        assert response.status_code == 400, response.text
        assert await count(database, Account, tenant) == 0
