"""The real Zuora SDK against a real ``asyncgate serve`` over real HTTP.

Each SDK call is made through its ``*_with_http_info`` twin, so besides what the SDK parsed
the test sees the raw body and headers. The SDK's models accept any JSON, so every raw body is
also checked against the model the SDK declares for that answer (``assert_shape``).
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.sdk import (
    assert_refused,
    body_of,
    exceptions,
    models,
    open_sdk,
    quiet_sdk,
    zuora_sdk,
)
from tests.e2e.shapes import ZUORA_ID, assert_shape, declared_keys
from tests.factories import make_tenant

pytestmark = [pytest.mark.e2e, quiet_sdk]

ACCOUNT_NUMBER = re.compile(r"^A\d{8}$")
PROCESS_ID = re.compile(r"^[0-9A-Fa-f]{16}$")

# Keys Zuora always writes in these answers (null when unset); the rest of each SDK model
# is optional, but whatever else comes back must still be declared there (assert_shape).
CONTACT_KEYS = [
    "id",
    "accountId",
    "accountNumber",
    "firstName",
    "lastName",
    "nickname",
    "contactDescription",
    "address1",
    "address2",
    "city",
    "county",
    "state",
    "country",
    "zipCode",
    "taxRegion",
    "workEmail",
    "personalEmail",
    "workPhone",
    "homePhone",
    "mobilePhone",
    "otherPhone",
    "otherPhoneType",
    "fax",
]
BASIC_INFO_KEYS = [
    "id",
    "accountNumber",
    "name",
    "status",
    "batch",
    "crmId",
    "notes",
    "invoiceTemplateId",
    "salesRep",
    "customerServiceRepName",
    "purchaseOrderNumber",
]
BILLING_AND_PAYMENT_KEYS = [
    "billCycleDay",
    "currency",
    "paymentTerm",
    "autoPay",
    "invoiceDeliveryPrefsEmail",
    "invoiceDeliveryPrefsPrint",
    "additionalEmailAddresses",
    "paymentGateway",
]
METRICS_KEYS = ["balance", "totalInvoiceBalance", "creditBalance"]
ACCOUNT_KEYS = [
    "success",
    *(f"basicInfo.{key}" for key in BASIC_INFO_KEYS),
    *(f"billingAndPayment.{key}" for key in BILLING_AND_PAYMENT_KEYS),
    *(f"metrics.{key}" for key in METRICS_KEYS),
    *(f"billToContact.{key}" for key in CONTACT_KEYS),
    *(f"soldToContact.{key}" for key in CONTACT_KEYS),
]


def assert_zuora_error(error: zuora_sdk.ApiException, status: int, category: int) -> None:
    """The SDK raised for ``status`` and the body is Zuora's REST error envelope."""
    assert error.status == status
    assert uuid.UUID(error.zuora_request_id)
    body = json.loads(error.body)
    assert body["success"] is False
    assert PROCESS_ID.match(body["processId"])
    [reason] = body["reasons"]
    expected = range(90_000_011, 90_000_012) if category == 11 else range(50_000_000, 68_000_000)
    assert reason["code"] in expected
    assert reason["code"] % 100 == category
    assert isinstance(reason["message"], str) and reason["message"]


def assert_authentication_refused(error: exceptions.UnauthorizedException) -> None:
    assert_zuora_error(error, 401, category=11)
    # The SDK reads a 401 as its ProxyUnauthorizedResponse, whose only field is ``message``.
    assert isinstance(error.data, models.ProxyUnauthorizedResponse)
    assert error.data.message == "Authentication error"


def account_request(**overrides: Any) -> models.CreateAccountRequest:
    fields: dict[str, Any] = {
        "name": "Acme Corp",
        "currency": "USD",
        "bill_cycle_day": 1,
        "auto_pay": False,
        "payment_term": "Net 30",
        "notes": "created by the SDK",
        "bill_to_contact": models.CreateAccountContact(
            first_name="Ada",
            last_name="Lovelace",
            work_email="ada@example.com",
            address1="1 Analytical Way",
            city="London",
            country="United Kingdom",
            zip_code="N1 9GU",
        ),
        "sold_to_contact": models.CreateAccountContact(
            first_name="Charles", last_name="Babbage", country="United Kingdom"
        ),
    }
    return models.CreateAccountRequest(**(fields | overrides))


@pytest.fixture
def contacts(sdk) -> zuora_sdk.ContactsApi:
    return zuora_sdk.ContactsApi(sdk)


@pytest.fixture
def account(accounts) -> models.CreateAccountResponse:
    """A new account with distinct bill-to and sold-to contacts, created through the SDK."""
    return accounts.create_account(account_request())


class TestOAuthToken:
    def test_the_sdk_gets_a_one_hour_bearer_token_for_the_bootstrap_client(self, live_server):
        with open_sdk(live_server.base_url) as api_client:
            answer = zuora_sdk.OAuthApi(api_client).create_token_with_http_info(
                client_id=live_server.client_id,
                client_secret=live_server.client_secret,
                grant_type="client_credentials",
            )
        assert_shape(body_of(answer), models.TokenResponse, declared_keys(models.TokenResponse))
        token = answer.data
        assert token.access_token
        assert token.expires_in == 3599
        assert token.token_type == "bearer"

    def test_a_wrong_secret_is_refused_with_401(self, live_server):
        with (
            open_sdk(live_server.base_url) as api_client,
            pytest.raises(exceptions.UnauthorizedException) as refused,
        ):
            zuora_sdk.OAuthApi(api_client).create_token(
                client_id=live_server.client_id,
                client_secret="not-the-secret",
                grant_type="client_credentials",
            )
        assert refused.value.status == 401


class TestAuthentication:
    def test_a_garbage_token_is_a_401_the_sdk_raises(self, live_server, account):
        with (
            open_sdk(live_server.base_url, access_token="not-a-token") as api_client,
            pytest.raises(exceptions.UnauthorizedException) as refused,
        ):
            zuora_sdk.AccountsApi(api_client).get_account(account.account_id)
        assert_authentication_refused(refused.value)

    async def test_an_expired_token_is_a_401_the_sdk_raises(self, live_server, live_database):
        expired = await make_tenant(live_database, token_lifetime=timedelta(seconds=-1))
        with (
            open_sdk(live_server.base_url, access_token=expired.token) as api_client,
            pytest.raises(exceptions.UnauthorizedException) as refused,
        ):
            zuora_sdk.AccountsApi(api_client).get_account("A00000001")
        assert_authentication_refused(refused.value)


class TestAccounts:
    def test_create_answers_the_new_account_and_its_two_contacts(self, accounts):
        answer = accounts.create_account_with_http_info(account_request())
        body = body_of(answer)
        assert_shape(
            body,
            models.CreateAccountResponse,
            ["success", "accountId", "accountNumber", "billToContactId", "soldToContactId"],
        )
        created = answer.data
        assert created.success is True
        assert ZUORA_ID.match(created.account_id)
        assert ACCOUNT_NUMBER.match(created.account_number)
        assert ZUORA_ID.match(created.bill_to_contact_id)
        assert ZUORA_ID.match(created.sold_to_contact_id)
        assert created.bill_to_contact_id != created.sold_to_contact_id

    def test_get_by_id_and_by_number_answer_the_same_account(self, accounts, account):
        by_id = accounts.get_account_with_http_info(account.account_id)
        by_number = accounts.get_account_with_http_info(account.account_number)
        body = body_of(by_id)
        assert_shape(body, models.AccountDetailResponse, ACCOUNT_KEYS)
        assert body_of(by_number) == body

        detail = by_id.data
        assert isinstance(detail.basic_info, models.AccountBasicInfo)
        assert detail.basic_info.id == account.account_id
        assert detail.basic_info.account_number == account.account_number
        assert detail.basic_info.name == "Acme Corp"
        assert detail.basic_info.status == "Active"
        assert detail.basic_info.notes == "created by the SDK"
        assert isinstance(detail.billing_and_payment, models.AccountBillingAndPayment)
        assert detail.billing_and_payment.currency == "USD"
        assert detail.billing_and_payment.bill_cycle_day == 1
        assert detail.billing_and_payment.payment_term == "Net 30"
        assert detail.billing_and_payment.auto_pay is False
        assert isinstance(detail.metrics, models.AccountMetrics)
        assert detail.metrics.balance == 0
        assert detail.bill_to_contact.id == account.bill_to_contact_id
        assert detail.bill_to_contact.first_name == "Ada"
        assert detail.bill_to_contact.work_email == "ada@example.com"
        assert detail.bill_to_contact.zip_code == "N1 9GU"
        assert detail.sold_to_contact.id == account.sold_to_contact_id
        assert detail.sold_to_contact.last_name == "Babbage"

    def test_update_changes_what_get_answers(self, accounts, account):
        change = models.UpdateAccountRequest(
            name="Acme Holdings",
            notes="updated by the SDK",
            auto_pay=True,
            additional_email_addresses=["billing@example.com"],
            bill_to_contact=models.UpdateAccountContact(
                first_name="Ada", last_name="King", city="Marylebone"
            ),
        )
        answer = accounts.update_account_with_http_info(account.account_number, change)
        assert_shape(body_of(answer), models.CommonResponse, ["success"])
        assert answer.data.success is True

        detail = accounts.get_account(account.account_id)
        assert detail.basic_info.name == "Acme Holdings"
        assert detail.basic_info.notes == "updated by the SDK"
        assert detail.billing_and_payment.auto_pay is True
        assert detail.billing_and_payment.additional_email_addresses == ["billing@example.com"]
        assert detail.bill_to_contact.id == account.bill_to_contact_id
        assert detail.bill_to_contact.last_name == "King"
        assert detail.bill_to_contact.city == "Marylebone"
        assert detail.bill_to_contact.work_email == "ada@example.com"  # untouched

    def test_a_deleted_account_is_answered_not_found(self, accounts, account):
        answer = accounts.delete_account_with_http_info(account.account_id)
        assert_shape(body_of(answer), models.DeleteAccountResponse, ["success", "id"])
        assert answer.data.success is True
        assert answer.data.id == account.account_id

        for key in (account.account_id, account.account_number):
            assert_refused(accounts.get_account_with_http_info(key), category=40)

    def test_an_invalid_account_is_refused_and_creates_nothing(self, accounts):
        refused = accounts.create_account_with_http_info(
            account_request(bill_cycle_day=32, account_number="A-BAD-1")
        )
        assert_refused(refused, category=20)
        assert accounts.get_account("A-BAD-1").success is False


class TestContacts:
    def test_create_get_update_delete_through_the_sdk(self, contacts, account):
        created = contacts.create_contact_with_http_info(
            models.CreateContactRequest(
                account_id=account.account_id,
                first_name="Grace",
                last_name="Hopper",
                work_email="grace@example.com",
                city="Arlington",
                state="VA",
                country="United States",
                other_phone="555-0100",
                other_phone_type="Work",
            )
        )
        body = body_of(created)
        assert_shape(body, models.ContactResponse, ["success", *CONTACT_KEYS])
        contact = created.data
        assert ZUORA_ID.match(contact.id)
        assert contact.account_id == account.account_id
        assert contact.account_number == account.account_number
        assert (contact.first_name, contact.last_name) == ("Grace", "Hopper")

        fetched = contacts.get_contact_with_http_info(contact.id)
        assert body_of(fetched) == body

        updated = contacts.update_contact_with_http_info(
            contact.id,
            models.UpdateContactRequest(city="Washington", work_email="hopper@example.com"),
        )
        assert_shape(body_of(updated), models.ContactResponse, ["success", *CONTACT_KEYS])
        assert updated.data.city == "Washington"
        assert updated.data.work_email == "hopper@example.com"
        assert updated.data.first_name == "Grace"  # untouched
        assert contacts.get_contact(contact.id).city == "Washington"

        deleted = contacts.delete_contact_with_http_info(contact.id)
        assert_shape(body_of(deleted), models.CommonResponse, ["success"])
        assert deleted.data.success is True
        assert_refused(contacts.get_contact_with_http_info(contact.id), category=40)


class TestZuoraHeaders:
    def test_a_track_id_the_sdk_sends_comes_back_on_success_and_on_error(self, accounts):
        created = accounts.create_account_with_http_info(
            account_request(), zuora_track_id="e2e-create-0001"
        )
        assert created.zuora_track_id == "e2e-create-0001"
        missing = accounts.get_account_with_http_info(
            "A99999999", zuora_track_id="e2e-missing-0002"
        )
        assert_refused(missing, category=40)
        assert missing.zuora_track_id == "e2e-missing-0002"

    def test_no_track_id_is_answered_when_none_was_sent(self, accounts, account):
        answer = accounts.get_account_with_http_info(account.account_id)
        assert answer.zuora_track_id == ""

    def test_an_invalid_track_id_is_a_400_and_creates_nothing(self, accounts):
        with pytest.raises(exceptions.BadRequestException) as refused:
            accounts.create_account(
                account_request(account_number="A-TRACK-1"), zuora_track_id="has:colon"
            )
        assert_zuora_error(refused.value, 400, category=20)
        assert accounts.get_account("A-TRACK-1").success is False

    def test_a_create_retried_with_the_same_idempotency_key_creates_one_account(self, accounts):
        key = f"e2e-{uuid.uuid4()}"
        first = accounts.create_account(account_request(), idempotency_key=key)
        retried = accounts.create_account(account_request(), idempotency_key=key)
        assert retried.account_id == first.account_id
        assert retried.account_number == first.account_number
        other = accounts.create_account(account_request(), idempotency_key=f"{key}-other")
        assert other.account_id != first.account_id

    def test_a_gzipped_request_body_is_inflated(self, accounts, http):
        payload = account_request(name="Gzip Ltd").to_dict()
        response = http.post(
            "/v1/accounts",
            content=gzip.compress(json.dumps(payload).encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["success"] is True
        detail = accounts.get_account(response.json()["accountNumber"])
        assert detail.basic_info.name == "Gzip Ltd"

    def test_a_large_answer_is_gzipped_when_the_client_accepts_gzip(self, accounts, http):
        notes = "Long notes. " * 400  # the answer is well over Zuora's 1000-byte threshold
        account = accounts.create_account(account_request(notes=notes))
        path = f"/v1/accounts/{account.account_id}"

        gzipped = http.get(path, headers={"Accept-Encoding": "gzip"})
        assert gzipped.status_code == 200
        assert gzipped.headers["Content-Encoding"] == "gzip"
        assert gzipped.num_bytes_downloaded < len(gzipped.content)
        assert gzipped.json()["basicInfo"]["notes"] == notes

        plain = http.get(path, headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in plain.headers
        assert plain.json() == gzipped.json()

        # The SDK asks for gzip through its own parameter and reads the answer transparently.
        answer = accounts.get_account_with_http_info(account.account_id, accept_encoding="gzip")
        assert answer.content_encoding == "gzip"
        assert answer.data.basic_info.notes == notes
