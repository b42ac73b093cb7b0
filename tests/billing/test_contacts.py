"""``/v1/contacts``: what a client of the REST API sees."""

from __future__ import annotations

from tests.billing.api import (
    OBJECT_ID,
    assert_refused,
    contact_body,
    create_account,
    create_contact,
    get_account,
    get_contact,
    stored_rows,
)

CONTACT_FIELDS = {
    "id", "accountId", "accountNumber", "firstName", "lastName", "nickname",
    "contactDescription", "address1", "address2", "city", "county", "state", "country",
    "zipCode", "taxRegion", "workEmail", "personalEmail", "workPhone", "homePhone",
    "mobilePhone", "otherPhone", "otherPhoneType", "fax",
}  # fmt: skip
# A failed GET names the generic resource (Zuora's guide "Error codes"): 500000, category 40.
NOT_FOUND_BY_GET = 50000040


class TestCreateContact:
    async def test_adds_a_contact_to_the_account_named_by_id(self, client, tenant):
        account = await create_account(client, tenant)

        response = await client.post(
            "/v1/contacts",
            json=contact_body(accountId=account["accountId"], city="Turin"),
            headers=tenant.headers,
        )

        assert response.status_code == 200
        body = response.json()
        assert set(body) == CONTACT_FIELDS | {"success"}
        assert body["success"] is True
        assert OBJECT_ID.match(body["id"])
        assert body["accountId"] == account["accountId"]
        assert body["accountNumber"] == account["accountNumber"]
        assert (body["firstName"], body["lastName"], body["city"]) == ("Ada", "Lovelace", "Turin")
        assert await get_contact(client, tenant, body["id"]) == body

    async def test_adds_a_contact_to_the_account_named_by_number(self, client, tenant):
        account = await create_account(client, tenant)

        response = await client.post(
            "/v1/contacts",
            json=contact_body(accountNumber=account["accountNumber"]),
            headers=tenant.headers,
        )

        assert response.status_code == 200
        assert response.json()["accountId"] == account["accountId"]

    async def test_a_new_contact_takes_no_role(self, client, tenant):
        account = await create_account(client, tenant)
        await create_contact(client, tenant, account["accountId"])

        detail = await get_account(client, tenant, account["accountId"])

        assert detail["billToContact"]["id"] == account["billToContactId"]
        assert detail["soldToContact"]["id"] == account["soldToContactId"]

    async def test_custom_fields_are_stored_and_returned(self, client, tenant):
        account = await create_account(client, tenant)

        contact = await create_contact(client, tenant, account["accountId"], Role__c="Finance")

        assert contact["Role__c"] == "Finance"
        assert (await get_contact(client, tenant, contact["id"]))["Role__c"] == "Finance"

    async def test_naming_no_account_is_a_missing_field(self, client, tenant, database):
        await create_account(client, tenant)

        response = await client.post("/v1/contacts", json=contact_body(), headers=tenant.headers)

        assert_refused(response, 400, 22)
        assert await stored_rows(database, tenant) == (1, 1)

    async def test_an_unknown_account_is_an_invalid_value(self, client, tenant):
        account = await create_account(client, tenant)
        other = await create_account(client, tenant)

        for reference in (
            {"accountId": "0" * 32},
            {"accountNumber": "A99999999"},
            {"accountId": account["accountId"], "accountNumber": other["accountNumber"]},
        ):
            response = await client.post(
                "/v1/contacts", json=contact_body(**reference), headers=tenant.headers
            )
            assert_refused(response, 400, 20)

    async def test_invalid_bodies_are_refused_with_their_category(self, client, tenant, database):
        account = await create_account(client, tenant)
        valid = contact_body(accountId=account["accountId"])

        for body, category in (
            ({**valid, "firstName": None}, 20),
            ({key: value for key, value in valid.items() if key != "lastName"}, 22),
            ({**valid, "birthday": "1815-12-10"}, 21),
            ({**valid, "zipCode": "9" * 21}, 20),
            ({**valid, "zip_code": "75001"}, 21),
        ):
            response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
            assert_refused(response, 400, category)

        assert await stored_rows(database, tenant) == (1, 1)


class TestGetContact:
    async def test_an_unknown_contact_is_not_found(self, client, tenant):
        response = await client.get(f"/v1/contacts/{'0' * 32}", headers=tenant.headers)

        refused = assert_refused(response, 404, 40)
        assert refused["reasons"][0]["code"] == NOT_FOUND_BY_GET

    async def test_an_accounts_bill_to_contact_is_readable(self, client, tenant):
        account = await create_account(client, tenant)

        contact = await get_contact(client, tenant, account["billToContactId"])

        assert contact["accountNumber"] == account["accountNumber"]
        assert contact["workEmail"] == "ada@example.com"


class TestUpdateContact:
    async def test_changes_only_the_fields_sent(self, client, tenant):
        account = await create_account(client, tenant)
        contact = await create_contact(client, tenant, account["accountId"], city="Turin")

        response = await client.put(
            f"/v1/contacts/{contact['id']}",
            json={"lastName": "Byron", "workEmail": None, "Role__c": "Owner"},
            headers=tenant.headers,
        )

        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert (body["lastName"], body["workEmail"], body["city"]) == ("Byron", None, "Turin")
        assert body["Role__c"] == "Owner"
        assert await get_contact(client, tenant, contact["id"]) == body

    async def test_a_refused_update_changes_nothing(self, client, tenant):
        account = await create_account(client, tenant)
        contact = await create_contact(client, tenant, account["accountId"])

        for body, category in (
            ({"city": "Paris", "firstName": None}, 20),
            ({"city": "Paris", "accountId": account["accountId"]}, 21),
            ({"city": "Paris", "otherPhoneType": "Fax"}, 20),
            ({"city": "Paris", "last_name": "Byron"}, 21),
        ):
            response = await client.put(
                f"/v1/contacts/{contact['id']}", json=body, headers=tenant.headers
            )
            assert_refused(response, 400, category)

        assert await get_contact(client, tenant, contact["id"]) == contact

    async def test_an_unknown_contact_is_not_found(self, client, tenant):
        response = await client.put(
            f"/v1/contacts/{'0' * 32}", json={"city": "Paris"}, headers=tenant.headers
        )

        assert_refused(response, 404, 40)


class TestDeleteContact:
    async def test_deletes_a_contact_without_a_role(self, client, tenant):
        account = await create_account(client, tenant)
        contact = await create_contact(client, tenant, account["accountId"])

        response = await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers)

        assert response.status_code == 200
        assert response.json() == {"success": True}
        gone = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)
        assert_refused(gone, 404, 40)

    async def test_the_bill_to_and_sold_to_contacts_cannot_be_deleted(self, client, tenant):
        account = await create_account(
            client, tenant, soldToContact=contact_body(firstName="Grace", lastName="Hopper")
        )

        for contact_id in (account["billToContactId"], account["soldToContactId"]):
            response = await client.delete(f"/v1/contacts/{contact_id}", headers=tenant.headers)
            assert_refused(response, 400, 30)
            assert (await get_contact(client, tenant, contact_id))["id"] == contact_id

    async def test_a_contact_freed_of_its_role_can_be_deleted(self, client, tenant):
        account = await create_account(
            client, tenant, soldToContact=contact_body(firstName="Grace", lastName="Hopper")
        )
        await client.put(
            f"/v1/accounts/{account['accountId']}",
            json={"soldToContactId": account["billToContactId"]},
            headers=tenant.headers,
        )

        response = await client.delete(
            f"/v1/contacts/{account['soldToContactId']}", headers=tenant.headers
        )

        assert response.status_code == 200

    async def test_deleting_twice_is_not_found(self, client, tenant):
        account = await create_account(client, tenant)
        contact = await create_contact(client, tenant, account["accountId"])
        await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers)

        response = await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers)

        assert_refused(response, 404, 40)
