"""Zuora's Actions (``/v1/action/*``) through the real SDK's ``ActionsApi``.

In zuora-sdk 3.21.0 Actions are the SDK's only way to reach accounts and contacts in the
CRUD style (its ``/v1/object/...`` methods cover catalog objects only). Actions answer with
PascalCase fields, one result per object, except ``delete``, whose results Zuora spells in
lower case.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.sdk import body_of, exceptions, models, quiet_sdk, zuora_sdk
from tests.e2e.shapes import ZUORA_ID, assert_shape

pytestmark = [pytest.mark.e2e, quiet_sdk]


@pytest.fixture
def actions(sdk) -> zuora_sdk.ActionsApi:
    return zuora_sdk.ActionsApi(sdk)


def create(actions: zuora_sdk.ActionsApi, type_: str, *objects: dict[str, Any]) -> list[Any]:
    """Create ``objects`` of ``type_``; returns the raw results after checking their shape."""
    answer = actions.action_post_create_with_http_info(
        models.ProxyActioncreateRequest(type=type_, objects=list(objects))
    )
    results = body_of(answer)
    assert isinstance(results, list) and len(results) == len(objects)
    for result in results:
        assert_shape(result, models.SaveResult, ["Success"])
    return results


def query(actions: zuora_sdk.ActionsApi, zoql: str) -> list[dict[str, Any]]:
    answer = actions.action_post_query_with_http_info(
        models.ProxyActionqueryRequest(query_string=zoql)
    )
    body = body_of(answer)
    assert_shape(body, models.ProxyActionqueryResponse, ["records", "size", "done"])
    assert body["size"] == len(body["records"])
    assert body["done"] is True
    return body["records"]


def new_account(actions: zuora_sdk.ActionsApi, name: str = "Action Co") -> str:
    [result] = create(actions, "Account", {"Name": name, "Currency": "USD", "BillCycleDay": 1})
    assert result["Success"] is True, result
    return result["Id"]


class TestCreate:
    def test_each_object_gets_a_save_result_with_its_id(self, actions, accounts):
        results = create(
            actions,
            "Account",
            {"Name": "First Co", "Currency": "USD", "BillCycleDay": 1},
            {"Name": "Second Co", "Currency": "EUR", "BillCycleDay": 15},
        )
        assert [result["Success"] for result in results] == [True, True]
        assert all(ZUORA_ID.match(result["Id"]) for result in results)
        detail = accounts.get_account(results[1]["Id"])
        assert detail.basic_info.name == "Second Co"
        assert detail.billing_and_payment.currency == "EUR"
        assert detail.billing_and_payment.bill_cycle_day == 15

    def test_a_failing_object_fails_alone_with_its_errors(self, actions):
        good, bad = create(
            actions,
            "Account",
            {"Name": "Valid Co", "Currency": "USD", "BillCycleDay": 1},
            {"Name": "No Currency Co", "BillCycleDay": 1},
        )
        assert good["Success"] is True
        assert bad["Success"] is False
        assert_shape(bad, models.SaveResult, ["Success", "Errors"])
        [error] = bad["Errors"]
        assert error["Code"] and error["Message"]
        assert query(actions, "select Name from Account where Name = 'No Currency Co'") == []

    def test_a_contact_is_created_on_an_account_and_found_by_query(self, actions):
        account_id = new_account(actions)
        [result] = create(
            actions,
            "Contact",
            {
                "AccountId": account_id,
                "FirstName": "Alan",
                "LastName": "Turing",
                "City": "Wilmslow",
            },
        )
        assert result["Success"] is True, result
        records = query(
            actions,
            f"select Id, FirstName, LastName, City from Contact where AccountId = '{account_id}'",
        )
        assert records == [
            {"Id": result["Id"], "FirstName": "Alan", "LastName": "Turing", "City": "Wilmslow"}
        ]


class TestUpdateAndDelete:
    def test_update_changes_the_named_fields_only(self, actions, accounts):
        account_id = new_account(actions, name="Before Co")
        answer = actions.action_postupdate_with_http_info(
            models.ProxyActionupdateRequest(
                type="Account", objects=[models.ZObjectUpdate(id=account_id, Name="After Co")]
            )
        )
        [result] = body_of(answer)
        assert_shape(result, models.SaveResult, ["Success", "Id"])
        assert result == {"Success": True, "Id": account_id}
        [record] = query(actions, f"select Name, Currency from Account where Id = '{account_id}'")
        assert record == {"Name": "After Co", "Currency": "USD"}

    def test_delete_answers_lower_case_results_and_the_account_is_gone(self, actions, accounts):
        account_id = new_account(actions)
        answer = actions.action_post_delete_with_http_info(
            models.ProxyActiondeleteRequest(type="Account", ids=[account_id])
        )
        [result] = body_of(answer)
        assert_shape(result, models.DeleteResult, ["id", "success"])
        assert result == {"id": account_id, "success": True}
        assert accounts.get_account(account_id).success is False


class TestRefusals:
    """A request refused whole answers Zuora's ``FaultResponse``, which the SDK parses."""

    def test_an_unknown_object_type_is_a_fault_the_sdk_reads(self, actions):
        with pytest.raises(exceptions.BadRequestException) as refused:
            actions.action_post_create(
                models.ProxyActioncreateRequest(type="Invoice", objects=[{"Name": "Nope"}])
            )
        fault = refused.value.data
        assert isinstance(fault, models.FaultResponse)
        assert fault.fault_code == "INVALID_TYPE"
        assert "Invoice" in fault.fault_message
        assert refused.value.zuora_request_id

    def test_a_malformed_query_is_a_fault_the_sdk_reads(self, actions):
        with pytest.raises(exceptions.BadRequestException) as refused:
            actions.action_post_query(
                models.ProxyActionqueryRequest(query_string="select * from Account")
            )
        assert refused.value.data.fault_code == "MALFORMED_QUERY"
        assert refused.value.data.fault_message
