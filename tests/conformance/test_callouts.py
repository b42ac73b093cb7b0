"""Callout details as Zuora sends them, from ``asyncgate serve`` to a real HTTPS receiver.

Sources: the knowledge-center page "Configure Callout Notifications" (a challenged callout is
sent again with credentials; each callout attempt carries a new ``Zuora-Request-Id``) and
Zuora's callout settings ("confirm success by parsing response content" reads a 200 with a
JSON body); for the definition that holds a callout, zuora-sdk 3.21.0's notification
definition models.
"""

from __future__ import annotations

import re

import pytest

from tests.billing.api import account_body
from tests.e2e.sdk import body_of, models, open_sdk, quiet_sdk, zuora_sdk
from tests.e2e.shapes import ZUORA_ID, assert_shape
from tests.e2e.test_callouts import PASSWORD, accept, define, history, set_callout_settings
from tests.support.receiver import Reply

pytestmark = [pytest.mark.e2e, quiet_sdk]

SUCCEEDED = "Async Request Succeeded"
# A public address, written as a literal: saving needs no DNS, and nothing is sent to it.
SAVED_ONLY_URL = "https://93.184.215.14/callouts/async"


def test_every_request_sent_has_a_new_32_hex_request_id(api, callout_receiver):
    path = callout_receiver.new_path()
    callout_receiver.require_basic_auth(path, "receiver", PASSWORD)
    define(
        api,
        callout_receiver.url(path),
        requiredAuth=True,
        calloutAuth={"username": "receiver", "password": PASSWORD, "preemptive": False},
    )

    accept(api, account_body(), track_id="conformance-ids")

    challenged, answered = callout_receiver.wait_for(path, 2)
    ids = [arrival.headers["zuora-request-id"] for arrival in (challenged, answered)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)
    assert ids[0] != ids[1]
    assert challenged.headers["zuora-notification-id"] == answered.headers["zuora-notification-id"]


def test_parsing_confirms_only_a_200_with_a_json_body(api, callout_receiver):
    set_callout_settings(api, parseResponseContent=True, minIntervalMinutes=1)
    unparsed, parsed = callout_receiver.new_path(), callout_receiver.new_path()
    callout_receiver.script(unparsed, Reply(201, b'{"success": false}'))
    callout_receiver.script(parsed, Reply(200, b'{"success": false}'), Reply(200))
    define(api, callout_receiver.url(unparsed), calloutRetry=False)
    define(api, callout_receiver.url(parsed))

    accept(api, account_body(), track_id="conformance-parse")

    callout_receiver.wait_for(unparsed, 1)
    callout_receiver.wait_for(parsed, 2)  # the first answer did not confirm: sent again
    rows = history(api, 3)
    outcomes = sorted(
        (row["responseCode"], row["attemptedNum"], bool(row.get("error"))) for row in rows
    )
    assert outcomes == [("200", "1", True), ("200", "2", False), ("201", "1", False)]


def test_a_definitions_filter_email_and_account_fields_and_its_callouts_own_fields(
    live_server, live_tenant
):
    """Through zuora-sdk 3.21.0's ``NotificationsApi``: ``PostPublicNotificationDefinition
    Request`` and ``PutPublicNotificationDefinitionRequest`` send ``filterRule`` (their
    ``...RequestFilterRule`` with ``FilterRuleParameterDefinition`` parameters),
    ``filterRuleParams``, ``emailTemplateId`` and ``associatedAccount``;
    ``GetPublicNotificationDefinitionResponse`` reads them back as sent, and its
    ``GetPublicNotificationDefinitionResponseCallout`` the callout's ``id``, ``createdBy`` and
    ``updatedOn``."""
    rule = models.PostPublicNotificationDefinitionRequestFilterRule(
        condition="Request.Method == method",
        description="POST requests only",
        parameters={
            "method": models.FilterRuleParameterDefinition(
                display_name="Method", options=["POST", "PUT"], value_type="STRING"
            )
        },
    )
    callout = {
        "name": "Callout for Async Request Succeeded",
        "callout_baseurl": SAVED_ONLY_URL,
        "http_method": "POST",
        "required_auth": False,
    }
    with open_sdk(live_server.base_url, live_tenant.token) as api_client:
        notifications = zuora_sdk.NotificationsApi(api_client)
        created = notifications.create_notification_definition_with_http_info(
            models.PostPublicNotificationDefinitionRequest(
                name="Filtered",
                event_type_name=SUCCEEDED,
                callout_active=True,
                callout=models.PostPublicNotificationDefinitionRequestCallout(
                    event_type_name=SUCCEEDED, **callout
                ),
                filter_rule=rule,
                filter_rule_params={"method": "POST"},
                email_template_id="2c92c0f9694b8a91016950e0c2d01e8a",
                associated_account="ParentAccount.Id",
            )
        )
        body = body_of(created)
        fetched = notifications.get_notification_definition_with_http_info(body["id"])
        changed_rule = models.PutPublicNotificationDefinitionRequestFilterRule(
            condition="Request.Method == 'PUT'", parameters={}
        )
        updated = notifications.update_notification_definition_with_http_info(
            body["id"],
            models.PutPublicNotificationDefinitionRequest(
                callout_active=True,
                callout=models.PutPublicNotificationDefinitionRequestCallout(**callout),
                filter_rule=changed_rule,
                filter_rule_params={"method": "PUT"},
                email_template_id="8a8082c45b0a2ba1015b0ab3a3dd1a2d",
                associated_account="Account.Id",
            ),
        )
        notifications.delete_notification_definition(body["id"])

    required = [
        "filterRule.condition",
        "filterRule.description",
        "filterRule.parameters",
        "filterRuleParams",
        "emailTemplateId",
        "associatedAccount",
        "callout.id",
        "callout.createdBy",
        "callout.updatedOn",
    ]
    assert_shape(body, models.GetPublicNotificationDefinitionResponse, required)
    sent = {
        "condition": "Request.Method == method",
        "description": "POST requests only",
        "parameters": {
            "method": {"displayName": "Method", "options": ["POST", "PUT"], "valueType": "STRING"}
        },
    }
    assert rule.to_dict() == sent
    assert body["filterRule"] == sent
    assert body["filterRuleParams"] == {"method": "POST"}
    assert body["emailTemplateId"] == "2c92c0f9694b8a91016950e0c2d01e8a"
    assert body["associatedAccount"] == "ParentAccount.Id"
    assert ZUORA_ID.match(body["callout"]["id"]) and body["callout"]["id"] != body["id"]
    assert body["callout"]["createdBy"] == body["createdBy"]
    assert body["callout"]["updatedOn"] == body["createdOn"]
    assert created.data.callout.id == body["callout"]["id"]  # a field the SDK's model reads
    assert created.data.filter_rule.condition == rule.condition
    assert body_of(fetched) == body

    changed = body_of(updated)
    assert_shape(changed, models.GetPublicNotificationDefinitionResponse, required[3:])
    assert changed["filterRule"] == {"condition": "Request.Method == 'PUT'", "parameters": {}}
    assert (changed["filterRuleParams"], changed["emailTemplateId"]) == (
        {"method": "PUT"},
        "8a8082c45b0a2ba1015b0ab3a3dd1a2d",
    )
    assert changed["associatedAccount"] == "Account.Id"
    assert changed["callout"]["id"] == body["callout"]["id"]
    assert changed["callout"]["updatedOn"] == changed["updatedOn"] > body["updatedOn"]
