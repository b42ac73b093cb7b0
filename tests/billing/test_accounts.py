"""``/v1/accounts``: what a client of the REST API sees."""

from __future__ import annotations

import asyncio

from tests.billing.api import (
    OBJECT_ID,
    account_body,
    assert_refused,
    contact_body,
    create_account,
    create_contact,
    get_account,
    get_contact,
    stored_rows,
)

# A failed GET names the generic resource (Zuora's guide "Error codes"): 500000, category 40.
NOT_FOUND_BY_GET = 50000040


class TestCreateAccount:
    async def test_answers_with_the_new_ids_and_number(self, client, tenant):
        response = await client.post("/v1/accounts", json=account_body(), headers=tenant.headers)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {
            "success",
            "accountId",
            "accountNumber",
            "billToContactId",
            "soldToContactId",
        }
        assert body["success"] is True
        assert OBJECT_ID.match(body["accountId"])
        assert OBJECT_ID.match(body["billToContactId"])
        assert body["accountNumber"] == "A00000001"

    async def test_sold_to_contact_defaults_to_the_bill_to_contact(self, client, tenant):
        created = await create_account(client, tenant)

        assert created["soldToContactId"] == created["billToContactId"]
        account = await get_account(client, tenant, created["accountId"])
        assert account["soldToContact"] == account["billToContact"]

    async def test_a_separate_sold_to_contact_is_its_own_contact(self, client, tenant):
        created = await create_account(
            client, tenant, soldToContact=contact_body(firstName="Grace", lastName="Hopper")
        )

        assert created["soldToContactId"] != created["billToContactId"]
        account = await get_account(client, tenant, created["accountId"])
        assert account["soldToContact"]["firstName"] == "Grace"
        assert account["billToContact"]["firstName"] == "Ada"

    async def test_numbers_follow_a_sequence_per_tenant(self, client, tenant, other_tenant):
        first = await create_account(client, tenant)
        second = await create_account(client, tenant)
        elsewhere = await create_account(client, other_tenant)

        assert [first["accountNumber"], second["accountNumber"]] == ["A00000001", "A00000002"]
        assert elsewhere["accountNumber"] == "A00000001"

    async def test_a_chosen_number_is_kept_and_skipped_by_the_sequence(self, client, tenant):
        chosen = await create_account(client, tenant, accountNumber="A00000002")
        first = await create_account(client, tenant)
        second = await create_account(client, tenant)

        assert chosen["accountNumber"] == "A00000002"
        assert [first["accountNumber"], second["accountNumber"]] == ["A00000001", "A00000003"]

    async def test_a_number_in_use_is_a_conflict_and_creates_nothing(
        self, client, tenant, database
    ):
        await create_account(client, tenant, accountNumber="CUST-1")
        before = await stored_rows(database, tenant)

        response = await client.post(
            "/v1/accounts", json=account_body(accountNumber="CUST-1"), headers=tenant.headers
        )

        body = assert_refused(response, 409, 30)
        assert "CUST-1" in body["reasons"][0]["message"]
        assert await stored_rows(database, tenant) == before

    async def test_concurrent_requests_for_one_number_create_one_account(
        self, client, tenant, database
    ):
        body = account_body(accountNumber="CUST-7")

        responses = await asyncio.gather(
            *(client.post("/v1/accounts", json=body, headers=tenant.headers) for _ in range(3))
        )

        assert sorted(response.status_code for response in responses) == [200, 409, 409]
        assert await stored_rows(database, tenant) == (1, 1)

    async def test_the_same_number_may_exist_in_another_tenant(self, client, tenant, other_tenant):
        await create_account(client, tenant, accountNumber="CUST-1")

        elsewhere = await create_account(client, other_tenant, accountNumber="CUST-1")

        assert elsewhere["accountNumber"] == "CUST-1"

    async def test_omitted_fields_take_zuoras_defaults(self, client, tenant):
        created = await create_account(client, tenant)

        account = await get_account(client, tenant, created["accountId"])
        assert account["basicInfo"]["status"] == "Active"
        assert account["basicInfo"]["batch"] == "Batch1"
        billing = account["billingAndPayment"]
        assert billing["billCycleDay"] == 1
        assert billing["paymentTerm"] == "Due Upon Receipt"
        assert billing["autoPay"] is False
        assert billing["invoiceDeliveryPrefsEmail"] is False
        assert billing["invoiceDeliveryPrefsPrint"] is False
        assert billing["additionalEmailAddresses"] == []

    async def test_every_accepted_field_is_stored_and_returned(self, client, tenant):
        bill_to = contact_body(
            nickname="Ada",
            contactDescription="Billing",
            address1="12 St James's Square",
            address2="Floor 2",
            city="London",
            county="Westminster",
            state="London",
            country="United Kingdom",
            zipCode="SW1Y 4LB",
            taxRegion="UK",
            personalEmail="ada@home.example",
            workPhone="+44 20 0000 0001",
            homePhone="+44 20 0000 0002",
            mobilePhone="+44 7700 000003",
            otherPhone="+44 20 0000 0004",
            otherPhoneType="Work",
            fax="+44 20 0000 0005",
        )
        created = await create_account(
            client,
            tenant,
            accountNumber="ENG-42",
            currency="GBP",
            billToContact=bill_to,
            billCycleDay=15,
            paymentTerm="Net 30",
            autoPay=True,
            batch="Batch7",
            invoiceDeliveryPrefsEmail=True,
            invoiceDeliveryPrefsPrint=True,
            additionalEmailAddresses=["finance@example.com", "cfo@example.com"],
            notes="Prefers punched cards",
            crmId="0015g00000XYZ",
            invoiceTemplateId="2c92c0f84b3c5c43014b3d5f2f0b0a11",
            salesRep="Charles",
            customerServiceRepName="Mary",
            purchaseOrderNumber="PO-1843",
            paymentGateway="Stripe",
        )

        account = await get_account(client, tenant, created["accountId"])

        assert account["basicInfo"] == {
            "id": created["accountId"],
            "accountNumber": "ENG-42",
            "name": "Analytical Engines",
            "status": "Active",
            "batch": "Batch7",
            "crmId": "0015g00000XYZ",
            "invoiceTemplateId": "2c92c0f84b3c5c43014b3d5f2f0b0a11",
            "notes": "Prefers punched cards",
            "salesRep": "Charles",
            "customerServiceRepName": "Mary",
            "purchaseOrderNumber": "PO-1843",
        }
        assert account["billingAndPayment"] == {
            "billCycleDay": 15,
            "currency": "GBP",
            "paymentTerm": "Net 30",
            "autoPay": True,
            "invoiceDeliveryPrefsEmail": True,
            "invoiceDeliveryPrefsPrint": True,
            "additionalEmailAddresses": ["finance@example.com", "cfo@example.com"],
            "paymentGateway": "Stripe",
        }
        assert account["billToContact"] == {
            "id": created["billToContactId"],
            "accountId": created["accountId"],
            "accountNumber": "ENG-42",
            **bill_to,
        }

    async def test_custom_fields_are_stored_and_returned_as_sent(self, client, tenant):
        created = await create_account(
            client,
            tenant,
            Segment__c="Enterprise",
            Seats__c=12,
            billToContact=contact_body(Preferred__c=True),
        )

        account = await get_account(client, tenant, created["accountId"])

        assert account["basicInfo"]["Segment__c"] == "Enterprise"
        assert account["basicInfo"]["Seats__c"] == 12
        assert account["billToContact"]["Preferred__c"] is True


class TestCreateAccountValidation:
    async def test_a_missing_name_is_a_missing_field(self, client, tenant):
        body = account_body()
        del body["name"]

        response = await client.post("/v1/accounts", json=body, headers=tenant.headers)

        refused = assert_refused(response, 400, 22)
        assert str(refused["reasons"][0]["code"]).endswith("22")
        assert "name" in refused["reasons"][0]["message"]

    async def test_a_missing_bill_to_contact_or_contact_name_is_a_missing_field(
        self, client, tenant
    ):
        body = account_body(billToContact={"firstName": "Ada"})
        without_contact = account_body()
        del without_contact["billToContact"]

        for invalid in (body, without_contact):
            response = await client.post("/v1/accounts", json=invalid, headers=tenant.headers)
            assert_refused(response, 400, 22)

    async def test_an_unknown_field_is_named_in_the_error(self, client, tenant):
        response = await client.post(
            "/v1/accounts", json=account_body(colour="blue"), headers=tenant.headers
        )

        refused = assert_refused(response, 400, 21)
        assert refused["reasons"][0]["message"] == "Unknown field: colour"

    async def test_an_unknown_contact_field_is_named_with_its_path(self, client, tenant):
        body = account_body(billToContact=contact_body(shoeSize=9))

        response = await client.post("/v1/accounts", json=body, headers=tenant.headers)

        refused = assert_refused(response, 400, 21)
        assert refused["reasons"][0]["message"] == "Unknown field: billToContact.shoeSize"

    async def test_python_spellings_of_zuora_fields_are_unknown_fields(
        self, client, tenant, database
    ):
        for body, named in (
            (account_body(bill_cycle_day=5), "bill_cycle_day"),
            (
                account_body(billToContact=contact_body(work_email="ada@example.com")),
                "billToContact.work_email",
            ),
        ):
            response = await client.post("/v1/accounts", json=body, headers=tenant.headers)

            refused = assert_refused(response, 400, 21)
            assert refused["reasons"][0]["message"] == f"Unknown field: {named}"

        assert await stored_rows(database, tenant) == (0, 0)

    async def test_malformed_json_is_category_90(self, client, tenant):
        response = await client.post(
            "/v1/accounts",
            content=b'{"name": "Analytical',
            headers={**tenant.headers, "Content-Type": "application/json"},
        )

        assert_refused(response, 400, 90)

    async def test_bad_values_are_invalid_values(self, client, tenant):
        for bad in (
            {"currency": "usd"},
            {"currency": "DOLLAR"},
            {"currency": "XYZ"},
            {"billCycleDay": 0},
            {"billCycleDay": 32},
            {"paymentTerm": "Whenever"},
            {"batch": "Batch51"},
            {"batch": "Batch01"},
            {"autoPay": None},
            {"billToContact": contact_body(otherPhoneType="Pager")},
        ):
            response = await client.post(
                "/v1/accounts", json=account_body(**bad), headers=tenant.headers
            )
            assert_refused(response, 400, 20)

    async def test_values_of_another_json_type_are_invalid_values(self, client, tenant):
        for bad in (
            {"autoPay": 0},
            {"autoPay": "true"},
            {"billCycleDay": "5"},
            {"billCycleDay": True},
        ):
            response = await client.post(
                "/v1/accounts", json=account_body(**bad), headers=tenant.headers
            )
            assert_refused(response, 400, 20)

    async def test_a_whole_number_with_a_fraction_is_an_integer_as_in_json_schema(
        self, client, tenant
    ):
        created = await create_account(client, tenant, billCycleDay=5.0)

        account = await get_account(client, tenant, created["accountId"])
        assert account["billingAndPayment"]["billCycleDay"] == 5

    async def test_a_refused_request_creates_nothing_and_uses_no_number(
        self, client, tenant, database
    ):
        response = await client.post(
            "/v1/accounts", json=account_body(billCycleDay=99), headers=tenant.headers
        )
        assert_refused(response, 400, 20)

        assert await stored_rows(database, tenant) == (0, 0)
        assert (await create_account(client, tenant))["accountNumber"] == "A00000001"


class TestGetAccount:
    async def test_answers_the_account_detail_shape(self, client, tenant):
        created = await create_account(client, tenant)

        account = await get_account(client, tenant, created["accountId"])

        assert set(account) == {
            "success",
            "basicInfo",
            "billingAndPayment",
            "metrics",
            "billToContact",
            "soldToContact",
        }
        assert account["success"] is True
        assert account["basicInfo"]["id"] == created["accountId"]
        assert account["basicInfo"]["accountNumber"] == created["accountNumber"]
        assert account["basicInfo"]["name"] == "Analytical Engines"
        assert account["billingAndPayment"]["currency"] == "USD"
        assert account["metrics"] == {
            "currency": "USD",
            "balance": 0,
            "totalInvoiceBalance": 0,
            "creditBalance": 0,
        }
        assert account["billToContact"]["id"] == created["billToContactId"]
        assert account["billToContact"]["workEmail"] == "ada@example.com"

    async def test_finds_the_account_by_id_or_by_number(self, client, tenant):
        created = await create_account(client, tenant)

        by_id = await get_account(client, tenant, created["accountId"])
        by_number = await get_account(client, tenant, created["accountNumber"])

        assert by_id == by_number

    async def test_an_unknown_key_is_not_found(self, client, tenant):
        response = await client.get("/v1/accounts/A99999999", headers=tenant.headers)

        refused = assert_refused(response, 404, 40)
        assert refused["reasons"][0]["code"] == NOT_FOUND_BY_GET


class TestUpdateAccount:
    async def test_changes_only_the_fields_sent(self, client, tenant):
        created = await create_account(client, tenant, notes="old", crmId="crm-1")

        response = await client.put(
            f"/v1/accounts/{created['accountNumber']}",
            json={"name": "Difference Engines", "billCycleDay": 20, "notes": None},
            headers=tenant.headers,
        )

        assert response.status_code == 200
        assert response.json() == {"success": True}
        account = await get_account(client, tenant, created["accountId"])
        assert account["basicInfo"]["name"] == "Difference Engines"
        assert account["basicInfo"]["notes"] is None
        assert account["basicInfo"]["crmId"] == "crm-1"
        assert account["billingAndPayment"]["billCycleDay"] == 20
        assert account["billingAndPayment"]["paymentTerm"] == "Due Upon Receipt"

    async def test_edits_the_bill_to_contact_in_place(self, client, tenant):
        created = await create_account(
            client, tenant, soldToContact=contact_body(firstName="Grace", lastName="Hopper")
        )

        response = await client.put(
            f"/v1/accounts/{created['accountId']}",
            json={"billToContact": {"city": "Paris", "lastName": "King"}},
            headers=tenant.headers,
        )

        assert response.status_code == 200
        account = await get_account(client, tenant, created["accountId"])
        assert account["billToContact"]["id"] == created["billToContactId"]
        assert account["billToContact"]["city"] == "Paris"
        assert account["billToContact"]["lastName"] == "King"
        assert account["billToContact"]["firstName"] == "Ada"
        assert account["soldToContact"]["city"] is None

    async def test_hands_the_sold_to_role_to_another_contact(self, client, tenant):
        created = await create_account(client, tenant)
        contact = await create_contact(client, tenant, created["accountId"])

        response = await client.put(
            f"/v1/accounts/{created['accountId']}",
            json={"soldToContactId": contact["id"]},
            headers=tenant.headers,
        )

        assert response.status_code == 200
        account = await get_account(client, tenant, created["accountId"])
        assert account["soldToContact"]["id"] == contact["id"]
        assert account["billToContact"]["id"] == created["billToContactId"]

    async def test_merges_custom_fields(self, client, tenant):
        created = await create_account(client, tenant, Segment__c="SMB", Seats__c=3)

        await client.put(
            f"/v1/accounts/{created['accountId']}",
            json={"Seats__c": 30},
            headers=tenant.headers,
        )

        info = (await get_account(client, tenant, created["accountId"]))["basicInfo"]
        assert (info["Segment__c"], info["Seats__c"]) == ("SMB", 30)

    async def test_a_contact_of_another_account_cannot_take_a_role(self, client, tenant):
        mine = await create_account(client, tenant)
        other = await create_account(client, tenant)

        response = await client.put(
            f"/v1/accounts/{mine['accountId']}",
            json={"billToContactId": other["billToContactId"]},
            headers=tenant.headers,
        )

        assert_refused(response, 400, 20)

    async def test_a_refused_update_changes_nothing(self, client, tenant):
        created = await create_account(client, tenant)
        before = await get_account(client, tenant, created["accountId"])

        for body, category in (
            ({"name": "Renamed", "soldToContactId": "0" * 32}, 20),
            ({"name": "Renamed", "billToContact": {"city": "Paris"}, "planet": "Mars"}, 21),
            ({"name": None}, 20),
            ({"billCycleDay": 45}, 20),
            ({"bill_cycle_day": 5}, 21),
            ({"billToContact": {"last_name": "King"}}, 21),
            ({"billToContactId": created["billToContactId"], "billToContact": {"city": "X"}}, 20),
        ):
            response = await client.put(
                f"/v1/accounts/{created['accountId']}", json=body, headers=tenant.headers
            )
            assert_refused(response, 400, category)

        assert await get_account(client, tenant, created["accountId"]) == before

    async def test_an_unknown_account_is_not_found(self, client, tenant):
        response = await client.put(
            "/v1/accounts/A99999999", json={"name": "x"}, headers=tenant.headers
        )

        assert_refused(response, 404, 40)


class TestDeleteAccount:
    async def test_answers_a_completed_deletion(self, client, tenant):
        created = await create_account(client, tenant)

        response = await client.delete(
            f"/v1/accounts/{created['accountNumber']}", headers=tenant.headers
        )

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"success", "id", "jobId", "jobStatus"}
        assert body["success"] is True
        assert body["id"] == created["accountId"]
        assert OBJECT_ID.match(body["jobId"])
        assert body["jobStatus"] == "Completed"

    async def test_removes_the_account_and_its_contacts(self, client, tenant, database):
        created = await create_account(
            client, tenant, soldToContact=contact_body(firstName="Grace", lastName="Hopper")
        )
        extra = await create_contact(client, tenant, created["accountId"])
        kept = await create_account(client, tenant)

        await client.delete(f"/v1/accounts/{created['accountId']}", headers=tenant.headers)

        for key in (created["accountId"], created["accountNumber"]):
            response = await client.get(f"/v1/accounts/{key}", headers=tenant.headers)
            assert_refused(response, 404, 40)
        for contact_id in (created["billToContactId"], created["soldToContactId"], extra["id"]):
            response = await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers)
            assert_refused(response, 404, 40)
        assert await stored_rows(database, tenant) == (1, 1)
        assert (await get_account(client, tenant, kept["accountId"]))["success"] is True

    async def test_deleting_twice_is_not_found(self, client, tenant):
        created = await create_account(client, tenant)
        await client.delete(f"/v1/accounts/{created['accountId']}", headers=tenant.headers)

        response = await client.delete(
            f"/v1/accounts/{created['accountId']}", headers=tenant.headers
        )

        assert_refused(response, 404, 40)


class TestTenantIsolation:
    async def test_another_tenants_account_is_not_found_like_a_missing_one(
        self, client, tenant, other_tenant
    ):
        created = await create_account(client, tenant)
        missing_id = "f" * 32

        for key in (created["accountId"], created["accountNumber"]):
            foreign = await client.get(f"/v1/accounts/{key}", headers=other_tenant.headers)
            refused = assert_refused(foreign, 404, 40)
            missing = await client.get(f"/v1/accounts/{missing_id}", headers=other_tenant.headers)
            expected = missing.json()["reasons"][0]
            assert refused["reasons"][0]["code"] == expected["code"]
            assert refused["reasons"][0]["message"] == expected["message"].replace(missing_id, key)

    async def test_another_tenant_cannot_change_or_delete_the_account(
        self, client, tenant, other_tenant, database
    ):
        created = await create_account(client, tenant)
        before = await get_account(client, tenant, created["accountId"])
        path = f"/v1/accounts/{created['accountId']}"

        update = await client.put(path, json={"name": "Hijacked"}, headers=other_tenant.headers)
        removal = await client.delete(path, headers=other_tenant.headers)

        assert_refused(update, 404, 40)
        assert_refused(removal, 404, 40)
        assert await get_account(client, tenant, created["accountId"]) == before
        assert await stored_rows(database, tenant) == (1, 1)

    async def test_another_tenant_cannot_touch_the_accounts_contacts(
        self, client, tenant, other_tenant
    ):
        created = await create_account(client, tenant)
        contact = await create_contact(client, tenant, created["accountId"])
        path = f"/v1/contacts/{contact['id']}"

        reading = await client.get(path, headers=other_tenant.headers)
        update = await client.put(path, json={"city": "Elsewhere"}, headers=other_tenant.headers)
        removal = await client.delete(path, headers=other_tenant.headers)
        adding = await client.post(
            "/v1/contacts",
            json=contact_body(accountId=created["accountId"]),
            headers=other_tenant.headers,
        )

        for refused in (reading, update, removal):
            assert_refused(refused, 404, 40)
        assert_refused(adding, 400, 20)
        assert await get_contact(client, tenant, contact["id"]) == contact

    async def test_another_tenant_cannot_hand_roles_to_foreign_contacts(
        self, client, tenant, other_tenant
    ):
        mine = await create_account(client, other_tenant)
        theirs = await create_account(client, tenant)

        response = await client.put(
            f"/v1/accounts/{mine['accountId']}",
            json={"billToContactId": theirs["billToContactId"]},
            headers=other_tenant.headers,
        )

        assert_refused(response, 400, 20)
