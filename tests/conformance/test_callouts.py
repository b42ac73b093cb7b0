"""Callout details as Zuora sends them, from ``asyncgate serve`` to a real HTTPS receiver.

Sources: the knowledge-center page "Configure Callout Notifications" (a challenged callout is
sent again with credentials; each callout attempt carries a new ``Zuora-Request-Id``) and
Zuora's callout settings ("confirm success by parsing response content" reads a 200 with a
JSON body).
"""

from __future__ import annotations

import re

import pytest

from tests.billing.api import account_body
from tests.e2e.test_callouts import PASSWORD, accept, define, history, set_callout_settings
from tests.support.receiver import Reply

pytestmark = pytest.mark.e2e


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
