"""``/v1/object/{type}``: Zuora's CRUD endpoints for accounts and contacts."""

from __future__ import annotations

import re

import pytest

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.contacts.models import Contact
from tests.crud.support import (
    count,
    create_object,
    crud_error,
    get_object,
    make_account,
    make_contact,
    stored,
)

HEX_ID = re.compile(r"[0-9a-f]{32}")
UTC_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def make_active_account(client, tenant) -> tuple[str, str]:
    """The Zuora CRUD flow: a Draft account, a contact, then the contact in both roles."""
    account_id = await make_account(client, tenant)
    contact_id = await make_contact(client, tenant, account_id)
    response = await client.put(
        f"/v1/object/account/{account_id}",
        json={"BillToId": contact_id, "SoldToId": contact_id, "Status": "Active"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return account_id, contact_id


class TestCreate:
    async def test_account_create_answers_success_and_the_new_id(self, client, tenant, database):
        response = await client.post(
            "/v1/object/account",
            json={"Name": "Acme", "Currency": "USD", "BillCycleDay": 5, "Status": "Draft"},
            headers=tenant.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert body.keys() == {"Success", "Id"}
        assert body["Success"] is True
        assert HEX_ID.fullmatch(body["Id"])
        account = await stored(database, Account, body["Id"])
        assert (account.name, account.currency, account.bill_cycle_day) == ("Acme", "USD", 5)
        assert account.tenant_id == tenant.tenant_id

    async def test_an_account_made_by_crud_is_a_draft_without_contacts(
        self, client, tenant, database
    ):
        account = await stored(database, Account, await make_account(client, tenant))
        assert account.status == "Draft"
        assert account.bill_to_contact_id is None and account.sold_to_contact_id is None

    async def test_status_may_be_left_out(self, client, tenant, database):
        account_id = await create_object(
            client, tenant, "account", {"Name": "Acme", "Currency": "EUR", "BillCycleDay": 1}
        )
        assert (await stored(database, Account, account_id)).status == "Draft"

    async def test_accounts_are_numbered_by_the_accounts_service(self, client, tenant, database):
        first = await stored(database, Account, await make_account(client, tenant))
        second = await stored(database, Account, await make_account(client, tenant))
        assert re.fullmatch(r"A\d{8}", first.account_number)
        assert first.account_number != second.account_number

    async def test_a_chosen_account_number_is_kept(self, client, tenant, database):
        account_id = await make_account(client, tenant, AccountNumber="CUST-7")
        assert (await stored(database, Account, account_id)).account_number == "CUST-7"

    async def test_a_taken_account_number_is_refused(self, client, tenant, database):
        await make_account(client, tenant, AccountNumber="CUST-7")
        response = await client.post(
            "/v1/object/account",
            json={"Name": "B", "Currency": "USD", "BillCycleDay": 1, "AccountNumber": "CUST-7"},
            headers=tenant.headers,
        )
        _, message = crud_error(response, 409)
        assert "CUST-7" in message
        assert await count(database, Account, tenant) == 1

    async def test_contact_create_attaches_it_to_the_account(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        contact_id = await make_contact(
            client, tenant, account_id, WorkEmail="ada@example.com", Country="United Kingdom"
        )
        contact = await stored(database, Contact, contact_id)
        assert contact.account_id == account_id
        assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
        assert (contact.work_email, contact.country) == ("ada@example.com", "United Kingdom")

    async def test_field_names_are_case_insensitive(self, client, tenant, database):
        account_id = await create_object(
            client, tenant, "account", {"name": "Lower", "CURRENCY": "USD", "billcycleday": 3}
        )
        account = await stored(database, Account, account_id)
        assert (account.name, account.bill_cycle_day) == ("Lower", 3)

    async def test_custom_fields_are_kept_and_returned(self, client, tenant):
        account_id = await make_account(client, tenant, Region__c="EMEA")
        body = (await get_object(client, tenant, "account", account_id)).json()
        assert body["Region__c"] == "EMEA"

    async def test_additional_email_addresses_are_a_comma_separated_list(
        self, client, tenant, database
    ):
        account_id = await make_account(client, tenant, AdditionalEmailAddresses="a@x.io, b@x.io")
        account = await stored(database, Account, account_id)
        assert account.additional_email_addresses == ["a@x.io", "b@x.io"]
        body = (await get_object(client, tenant, "account", account_id)).json()
        assert body["AdditionalEmailAddresses"] == "a@x.io,b@x.io"


class TestRead:
    async def test_account_fields_are_pascal_case_with_timestamps(self, client, tenant):
        account_id = await make_account(client, tenant, Notes="vip")
        response = await get_object(client, tenant, "account", account_id)
        assert response.status_code == 200
        body = response.json()
        assert body["Id"] == account_id
        assert body["Name"] == "Acme"
        assert body["Currency"] == "USD"
        assert body["Status"] == "Draft"
        assert body["BillCycleDay"] == 1
        assert body["Notes"] == "vip"
        assert body["Balance"] == 0
        assert re.fullmatch(r"A\d{8}", body["AccountNumber"])
        assert UTC_TIMESTAMP.fullmatch(body["CreatedDate"])
        assert UTC_TIMESTAMP.fullmatch(body["UpdatedDate"])

    async def test_null_fields_are_left_out(self, client, tenant):
        body = (
            await get_object(client, tenant, "account", await make_account(client, tenant))
        ).json()
        assert "BillToId" not in body and "CrmId" not in body
        assert None not in body.values()

    async def test_contact_fields_are_pascal_case(self, client, tenant):
        account_id = await make_account(client, tenant)
        contact_id = await make_contact(
            client, tenant, account_id, WorkEmail="ada@example.com", PostalCode="N1 9GU"
        )
        body = (await get_object(client, tenant, "contact", contact_id)).json()
        assert body["Id"] == contact_id
        assert body["AccountId"] == account_id
        assert (body["FirstName"], body["LastName"]) == ("Ada", "Lovelace")
        assert (body["WorkEmail"], body["PostalCode"]) == ("ada@example.com", "N1 9GU")
        assert UTC_TIMESTAMP.fullmatch(body["CreatedDate"])

    async def test_fields_parameter_selects_fields_in_any_case(self, client, tenant):
        account_id = await make_account(client, tenant)
        response = await client.get(
            f"/v1/object/account/{account_id}",
            params={"fields": "name, CURRENCY"},
            headers=tenant.headers,
        )
        assert response.json() == {"Name": "Acme", "Currency": "USD"}

    async def test_selecting_an_unknown_field_is_invalid_field(self, client, tenant):
        account_id = await make_account(client, tenant)
        response = await client.get(
            f"/v1/object/account/{account_id}",
            params={"fields": "Name,Colour"},
            headers=tenant.headers,
        )
        code, message = crud_error(response, 400)
        assert code == "INVALID_FIELD"
        assert "Colour" in message

    async def test_an_unknown_id_is_a_404_in_the_crud_envelope(self, client, tenant):
        code, message = crud_error(await get_object(client, tenant, "contact", "0" * 32), 404)
        assert code == "INVALID_ID"
        assert "0" * 32 in message


class TestUpdate:
    async def test_update_answers_success_and_the_id(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        response = await client.put(
            f"/v1/object/account/{account_id}",
            json={"Name": "Acme Ltd", "BillCycleDay": 15},
            headers=tenant.headers,
        )
        assert response.status_code == 200
        assert response.json() == {"Success": True, "Id": account_id}
        account = await stored(database, Account, account_id)
        assert (account.name, account.bill_cycle_day, account.currency) == ("Acme Ltd", 15, "USD")

    async def test_bill_to_and_sold_to_make_a_draft_account_active(self, client, tenant, database):
        account_id, contact_id = await make_active_account(client, tenant)
        account = await stored(database, Account, account_id)
        assert account.status == "Active"
        assert account.bill_to_contact_id == contact_id == account.sold_to_contact_id
        body = (await get_object(client, tenant, "account", account_id)).json()
        assert body["BillToId"] == body["SoldToId"] == contact_id

    async def test_an_account_without_contacts_cannot_become_active(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        response = await client.put(
            f"/v1/object/account/{account_id}",
            json={"Status": "Active", "Name": "Renamed"},
            headers=tenant.headers,
        )
        crud_error(response, 400)
        account = await stored(database, Account, account_id)
        assert (account.status, account.name) == ("Draft", "Acme")

    async def test_an_account_cannot_be_created_active_without_contacts(
        self, client, tenant, database
    ):
        response = await client.post(
            "/v1/object/account",
            json={"Name": "A", "Currency": "USD", "BillCycleDay": 1, "Status": "Active"},
            headers=tenant.headers,
        )
        _, message = crud_error(response, 400)
        assert "bill-to" in message
        assert await count(database, Account, tenant) == 0

    async def test_an_unknown_status_is_invalid_value(self, client, tenant):
        account_id = await make_account(client, tenant)
        response = await client.put(
            f"/v1/object/account/{account_id}", json={"Status": "Frozen"}, headers=tenant.headers
        )
        code, message = crud_error(response, 400)
        assert code == "INVALID_VALUE"
        assert "Status" in message

    async def test_a_contact_of_another_account_cannot_be_bill_to(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        stranger = await make_contact(client, tenant, await make_account(client, tenant))
        response = await client.put(
            f"/v1/object/account/{account_id}", json={"BillToId": stranger}, headers=tenant.headers
        )
        crud_error(response, 400)
        assert (await stored(database, Account, account_id)).bill_to_contact_id is None

    async def test_contact_update_changes_only_the_given_fields(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        contact_id = await make_contact(client, tenant, account_id, City="London")
        response = await client.put(
            f"/v1/object/contact/{contact_id}", json={"LastName": "King"}, headers=tenant.headers
        )
        assert response.json() == {"Success": True, "Id": contact_id}
        contact = await stored(database, Contact, contact_id)
        assert (contact.first_name, contact.last_name, contact.city) == ("Ada", "King", "London")

    async def test_fields_to_null_clears_fields(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        contact_id = await make_contact(client, tenant, account_id, City="London", Fax="123")
        response = await client.put(
            f"/v1/object/contact/{contact_id}",
            json={"fieldsToNull": ["city", "Fax"]},
            headers=tenant.headers,
        )
        assert response.status_code == 200
        contact = await stored(database, Contact, contact_id)
        assert (contact.city, contact.fax) == (None, None)

    async def test_a_required_field_cannot_be_nulled(self, client, tenant, database):
        contact_id = await make_contact(client, tenant, await make_account(client, tenant))
        response = await client.put(
            f"/v1/object/contact/{contact_id}",
            json={"fieldsToNull": ["FirstName"]},
            headers=tenant.headers,
        )
        _, message = crud_error(response, 400)
        assert "FirstName" in message
        assert (await stored(database, Contact, contact_id)).first_name == "Ada"

    @pytest.mark.parametrize(
        ("field", "value"), [("Balance", 10), ("Currency", "EUR"), ("Id", "x")]
    )
    async def test_fields_that_cannot_be_updated_are_invalid_field(
        self, client, tenant, database, field, value
    ):
        account_id = await make_account(client, tenant)
        response = await client.put(
            f"/v1/object/account/{account_id}",
            json={"Name": "Changed", field: value},
            headers=tenant.headers,
        )
        code, message = crud_error(response, 400)
        assert code == "INVALID_FIELD"
        assert field in message
        assert (await stored(database, Account, account_id)).name == "Acme"

    async def test_an_invalid_value_names_the_field_and_changes_nothing(
        self, client, tenant, database
    ):
        account_id = await make_account(client, tenant)
        response = await client.put(
            f"/v1/object/account/{account_id}",
            json={"Name": "Changed", "BillCycleDay": 40},
            headers=tenant.headers,
        )
        code, message = crud_error(response, 400)
        assert code == "INVALID_VALUE"
        assert "BillCycleDay" in message
        account = await stored(database, Account, account_id)
        assert (account.name, account.bill_cycle_day) == ("Acme", 1)

    async def test_updating_an_unknown_id_is_a_404(self, client, tenant):
        response = await client.put(
            f"/v1/object/account/{'f' * 32}", json={"Name": "x"}, headers=tenant.headers
        )
        assert crud_error(response, 404)[0] == "INVALID_ID"


class TestDelete:
    async def test_account_delete_answers_lower_case_success_and_removes_it_with_its_contacts(
        self, client, tenant, database
    ):
        account_id, contact_id = await make_active_account(client, tenant)
        response = await client.delete(f"/v1/object/account/{account_id}", headers=tenant.headers)
        assert response.status_code == 200
        assert response.json() == {"success": True, "id": account_id}
        assert await stored(database, Account, account_id) is None
        assert await stored(database, Contact, contact_id) is None
        assert (await get_object(client, tenant, "account", account_id)).status_code == 404

    async def test_contact_delete(self, client, tenant, database):
        contact_id = await make_contact(client, tenant, await make_account(client, tenant))
        response = await client.delete(f"/v1/object/contact/{contact_id}", headers=tenant.headers)
        assert response.json() == {"success": True, "id": contact_id}
        assert await stored(database, Contact, contact_id) is None

    async def test_a_bill_to_contact_cannot_be_deleted(self, client, tenant, database):
        _, contact_id = await make_active_account(client, tenant)
        response = await client.delete(f"/v1/object/contact/{contact_id}", headers=tenant.headers)
        _, message = crud_error(response, 400)
        assert "bill-to" in message
        assert await stored(database, Contact, contact_id) is not None

    async def test_deleting_an_unknown_id_is_a_404(self, client, tenant):
        response = await client.delete(f"/v1/object/contact/{'a' * 32}", headers=tenant.headers)
        assert crud_error(response, 404)[0] == "INVALID_ID"


class TestErrors:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/v1/object/invoice-thing"),
            ("GET", "/v1/object/invoice-thing/" + "1" * 32),
            ("PUT", "/v1/object/invoice-thing/" + "1" * 32),
            ("DELETE", "/v1/object/invoice-thing/" + "1" * 32),
        ],
    )
    async def test_an_unknown_object_type_is_a_404_naming_the_supported_ones(
        self, client, tenant, method, path
    ):
        body = {"Name": "x"} if method in ("POST", "PUT") else None
        response = await client.request(method, path, json=body, headers=tenant.headers)
        code, message = crud_error(response, 404)
        assert code == "INVALID_TYPE"
        assert "invoice-thing" in message and "account" in message

    async def test_an_unknown_field_is_invalid_field_and_creates_nothing(
        self, client, tenant, database
    ):
        response = await client.post(
            "/v1/object/account",
            json={"Name": "A", "Currency": "USD", "BillCycleDay": 1, "Colour": "red"},
            headers=tenant.headers,
        )
        code, message = crud_error(response, 400)
        assert code == "INVALID_FIELD"
        assert "Colour" in message
        assert await count(database, Account, tenant) == 0

    async def test_a_field_only_set_by_update_is_refused_on_create(self, client, tenant):
        response = await client.post(
            "/v1/object/account",
            json={"Name": "A", "Currency": "USD", "BillCycleDay": 1, "BillToId": "1" * 32},
            headers=tenant.headers,
        )
        code, message = crud_error(response, 400)
        assert code == "INVALID_FIELD"
        assert "BillToId" in message

    async def test_a_missing_required_field_is_named_in_pascal_case(self, client, tenant):
        response = await client.post(
            "/v1/object/account", json={"Currency": "USD"}, headers=tenant.headers
        )
        code, message = crud_error(response, 400)
        assert code == "MISSING_REQUIRED_VALUE"
        assert "Name" in message

    async def test_a_body_that_is_not_an_object_is_refused(self, client, tenant):
        response = await client.post("/v1/object/account", json=["Name"], headers=tenant.headers)
        assert crud_error(response, 400)[0] == "INVALID_VALUE"

    async def test_a_contact_needs_an_existing_account(self, client, tenant, database):
        response = await client.post(
            "/v1/object/contact",
            json={"AccountId": "9" * 32, "FirstName": "A", "LastName": "B"},
            headers=tenant.headers,
        )
        crud_error(response, 400)
        assert await count(database, Contact, tenant) == 0


class TestTenantIsolation:
    async def test_another_tenants_objects_are_not_found(self, client, tenant, other_tenant):
        account_id, contact_id = await make_active_account(client, tenant)
        for path, object_id in (("account", account_id), ("contact", contact_id)):
            response = await get_object(client, other_tenant, path, object_id)
            assert crud_error(response, 404)[0] == "INVALID_ID"

    async def test_another_tenants_objects_cannot_be_changed_or_deleted(
        self, client, tenant, other_tenant, database
    ):
        account_id, contact_id = await make_active_account(client, tenant)
        update = await client.put(
            f"/v1/object/account/{account_id}",
            json={"Name": "Stolen"},
            headers=other_tenant.headers,
        )
        crud_error(update, 404)
        delete = await client.delete(
            f"/v1/object/contact/{contact_id}", headers=other_tenant.headers
        )
        crud_error(delete, 404)
        delete = await client.delete(
            f"/v1/object/account/{account_id}", headers=other_tenant.headers
        )
        crud_error(delete, 404)
        assert (await stored(database, Account, account_id)).name == "Acme"
        assert await stored(database, Contact, contact_id) is not None

    async def test_a_contact_cannot_join_another_tenants_account(
        self, client, tenant, other_tenant, database
    ):
        account_id = await make_account(client, tenant)
        response = await client.post(
            "/v1/object/contact",
            json={"AccountId": account_id, "FirstName": "A", "LastName": "B"},
            headers=other_tenant.headers,
        )
        crud_error(response, 400)
        assert await count(database, Contact, other_tenant) == 0
        assert await count(database, Contact, tenant) == 0

    async def test_another_tenants_contact_cannot_become_bill_to(
        self, client, tenant, other_tenant, database
    ):
        _, foreign_contact = await make_active_account(client, other_tenant)
        account_id = await make_account(client, tenant)
        response = await client.put(
            f"/v1/object/account/{account_id}",
            json={"BillToId": foreign_contact},
            headers=tenant.headers,
        )
        crud_error(response, 400)
        assert (await stored(database, Account, account_id)).bill_to_contact_id is None
