"""``/v1/action/create|update|delete``: batches where every object stands on its own."""

from __future__ import annotations

import pytest

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.contacts.models import Contact
from tests.crud.support import count, make_account, make_contact, stored
from tests.http.assertions import assert_action_fault


def account(name: str, **fields) -> dict:
    return {"Name": name, "Currency": "USD", "BillCycleDay": 1, "Status": "Draft", **fields}


async def act(client, tenant, action: str, body: dict):
    return await client.post(f"/v1/action/{action}", json=body, headers=tenant.headers)


class TestCreateAction:
    async def test_every_object_gets_a_save_result_in_order(self, client, tenant, database):
        response = await act(
            client, tenant, "create", {"type": "Account", "objects": [account("A"), account("B")]}
        )
        assert response.status_code == 200
        results = response.json()
        assert [result.keys() for result in results] == [{"Success", "Id"}] * 2
        assert all(result["Success"] is True for result in results)
        names = [(await stored(database, Account, r["Id"])).name for r in results]
        assert names == ["A", "B"]

    async def test_good_objects_persist_beside_bad_ones(self, client, tenant, database):
        objects = [
            account("Good 1"),
            account("Bad", BillCycleDay=99),
            account("Good 2"),
            account("Unknown field", Colour="red"),
            {"Currency": "USD"},
        ]
        response = await act(client, tenant, "create", {"type": "Account", "objects": objects})
        assert response.status_code == 200
        results = response.json()
        assert [result["Success"] for result in results] == [True, False, True, False, False]
        assert results[1].keys() == {"Success", "Errors"}
        assert results[1]["Errors"][0]["Code"] == "INVALID_VALUE"
        assert "BillCycleDay" in results[1]["Errors"][0]["Message"]
        assert results[3]["Errors"] == [
            {"Code": "INVALID_FIELD", "Message": "Account has no field named Colour"}
        ]
        assert results[4]["Errors"][0]["Code"] == "MISSING_REQUIRED_VALUE"
        assert await count(database, Account, tenant) == 2

    async def test_a_failing_object_after_its_service_wrote_leaves_no_trace(
        self, client, tenant, database
    ):
        # Created, then refused by the status rule: its savepoint undoes the creation.
        objects = [account("Refused", Status="Active"), account("Kept")]
        results = (
            await act(client, tenant, "create", {"type": "account", "objects": objects})
        ).json()
        assert [result["Success"] for result in results] == [False, True]
        assert await count(database, Account, tenant) == 1

    async def test_the_type_is_case_insensitive(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        objects = [{"AccountId": account_id, "FirstName": "A", "LastName": "B"}]
        results = (
            await act(client, tenant, "create", {"type": "CONTACT", "objects": objects})
        ).json()
        assert results[0]["Success"] is True
        assert (await stored(database, Contact, results[0]["Id"])).account_id == account_id

    async def test_an_unknown_type_is_refused_whole(self, client, tenant):
        response = await act(client, tenant, "create", {"type": "Invoice", "objects": [{}]})
        code, message = assert_action_fault(response, 400)
        assert code == "INVALID_TYPE"
        assert "Invoice" in message

    async def test_more_than_fifty_objects_are_refused_whole(self, client, tenant, database):
        objects = [account(f"A{n}") for n in range(51)]
        response = await act(client, tenant, "create", {"type": "Account", "objects": objects})
        code, _ = assert_action_fault(response, 400)
        assert code == "MAX_RECORDS_EXCEEDED"
        assert await count(database, Account, tenant) == 0

    async def test_fifty_objects_are_accepted(self, client, tenant, database):
        objects = [account(f"A{n}") for n in range(50)]
        response = await act(client, tenant, "create", {"type": "Account", "objects": objects})
        assert all(result["Success"] for result in response.json())
        assert await count(database, Account, tenant) == 50

    @pytest.mark.parametrize(
        ("body", "expected_code", "fragment"),
        [
            ({"objects": []}, "MISSING_REQUIRED_VALUE", "type"),
            ({"type": "Account"}, "MISSING_REQUIRED_VALUE", "objects"),
            ({"type": "Account", "objects": [], "extra": 1}, "INVALID_FIELD", "extra"),
        ],
    )
    async def test_a_malformed_request_is_refused(
        self, client, tenant, body, expected_code, fragment
    ):
        response = await act(client, tenant, "create", body)
        code, message = assert_action_fault(response, 400)
        assert code == expected_code
        assert fragment in message

    async def test_a_fault_names_every_problem_of_the_request(self, client, tenant):
        response = await act(client, tenant, "create", {"extra": 1})
        _, message = assert_action_fault(response, 400)
        assert all(fragment in message for fragment in ("type", "objects", "extra"))


class TestUpdateAction:
    async def test_objects_name_their_id_and_change_independently(self, client, tenant, database):
        first = await make_account(client, tenant)
        second = await make_account(client, tenant)
        objects = [
            {"Id": first, "Name": "Renamed"},
            {"Id": second, "Name": "Bad", "BillCycleDay": 0},
            {"Name": "No id"},
            {"Id": "0" * 32, "Name": "Missing"},
        ]
        response = await act(client, tenant, "update", {"type": "Account", "objects": objects})
        results = response.json()
        assert results[0] == {"Success": True, "Id": first}
        assert [r["Success"] for r in results] == [True, False, False, False]
        assert results[2]["Errors"][0]["Code"] == "MISSING_REQUIRED_VALUE"
        assert results[3]["Errors"][0]["Code"] == "INVALID_ID"
        assert (await stored(database, Account, first)).name == "Renamed"
        assert (await stored(database, Account, second)).name == "Acme"

    async def test_fields_to_null(self, client, tenant, database):
        contact_id = await make_contact(
            client, tenant, await make_account(client, tenant), City="Paris"
        )
        objects = [{"Id": contact_id, "fieldsToNull": ["City"], "State": "IDF"}]
        results = (
            await act(client, tenant, "update", {"type": "Contact", "objects": objects})
        ).json()
        assert results == [{"Success": True, "Id": contact_id}]
        contact = await stored(database, Contact, contact_id)
        assert (contact.city, contact.state) == (None, "IDF")

    async def test_the_crud_flow_in_one_batch_per_step(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        contact_id = await make_contact(client, tenant, account_id)
        objects = [
            {"Id": account_id, "BillToId": contact_id, "SoldToId": contact_id, "Status": "Active"}
        ]
        results = (
            await act(client, tenant, "update", {"type": "Account", "objects": objects})
        ).json()
        assert results[0]["Success"] is True
        assert (await stored(database, Account, account_id)).status == "Active"


class TestDeleteAction:
    async def test_every_id_gets_a_lower_case_delete_result(self, client, tenant, database):
        account_id = await make_account(client, tenant)
        removable = await make_contact(client, tenant, account_id)
        bill_to = await make_contact(client, tenant, account_id)
        await act(
            client,
            tenant,
            "update",
            {"type": "Account", "objects": [{"Id": account_id, "BillToId": bill_to}]},
        )
        response = await act(
            client, tenant, "delete", {"type": "Contact", "ids": [removable, bill_to, "0" * 32]}
        )
        assert response.status_code == 200
        results = response.json()
        assert results[0] == {"success": True, "id": removable}
        assert results[1]["success"] is False and results[1]["id"] == bill_to
        assert results[1]["errors"][0].keys() == {"Code", "Message"}
        assert results[2]["errors"][0]["Code"] == "INVALID_ID"
        assert await stored(database, Contact, removable) is None
        assert await stored(database, Contact, bill_to) is not None

    async def test_more_than_fifty_ids_are_refused_whole(self, client, tenant, database):
        contact_id = await make_contact(client, tenant, await make_account(client, tenant))
        response = await act(
            client, tenant, "delete", {"type": "Contact", "ids": [contact_id] + ["0" * 32] * 50}
        )
        code, _ = assert_action_fault(response, 400)
        assert code == "MAX_RECORDS_EXCEEDED"
        assert await stored(database, Contact, contact_id) is not None


class TestTenantIsolation:
    async def test_another_tenants_ids_fail_per_object_and_stay_untouched(
        self, client, tenant, other_tenant, database
    ):
        account_id = await make_account(client, tenant)
        update = await act(
            client,
            other_tenant,
            "update",
            {"type": "Account", "objects": [{"Id": account_id, "Name": "Stolen"}]},
        )
        assert update.json()[0]["Errors"][0]["Code"] == "INVALID_ID"
        delete = await act(client, other_tenant, "delete", {"type": "Account", "ids": [account_id]})
        assert delete.json()[0]["errors"][0]["Code"] == "INVALID_ID"
        assert (await stored(database, Account, account_id)).name == "Acme"


class TestSynchronousOnly:
    @pytest.mark.parametrize("action", ["create", "update", "delete", "query"])
    async def test_actions_have_no_asynchronous_twin(self, client, tenant, action):
        response = await client.post(
            f"/v1/async/action/{action}", json={"type": "Account"}, headers=tenant.headers
        )
        assert response.status_code in (400, 404, 405)
        assert response.status_code != 202
