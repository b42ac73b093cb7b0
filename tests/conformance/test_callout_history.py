"""The callout history pages as Zuora's does, through the real zuora-sdk against
``asyncgate serve`` and a real HTTPS callout receiver.

Sources: Zuora's API reference "List callout notification histories"
(``GET /v1/notification-history/callout``: ``pageSize`` defaults to 20 and one over 40 is read
as 40; ``eventCategory`` takes a numeric event category code; ``nextPage`` is the URL of the
next page) and zuora-sdk 3.21.0's ``NotificationsApi.get_callout_history`` with its answer
``GetCalloutHistoryVOsType`` (``calloutHistories`` of ``GetCalloutHistoryVOType`` rows, and
``nextPage``).

The SDK declares ``page_size`` at most 40 and refuses more before sending, so the larger one
goes over plain HTTP; so does following ``nextPage``, a URL the SDK has no operation for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.billing.api import account_body
from tests.e2e.sdk import body_of, models, open_sdk, quiet_sdk, zuora_sdk
from tests.e2e.test_callouts import HISTORY, accept, define
from tests.factories import TenantContext
from tests.support.receiver import WAIT_SECONDS, Receiver

pytestmark = [pytest.mark.e2e, quiet_sdk]

REQUESTS = 45  # one page more than the largest (40) holds


@pytest.fixture
def notifications(live_server, live_tenant: TenantContext) -> Iterator[zuora_sdk.NotificationsApi]:
    """The SDK's notifications as the test's own tenant, the one whose definitions ``api``
    creates."""
    with open_sdk(live_server.base_url, live_tenant.token) as api_client:
        yield zuora_sdk.NotificationsApi(api_client)


@pytest.fixture
def announced(api: httpx.Client, callout_receiver: Receiver) -> set[str]:
    """The IDs of ``REQUESTS`` async account creations, once a callout of each is in the
    tenant's history."""
    path = callout_receiver.new_path()
    define(api, callout_receiver.url(path))
    request_ids = {
        accept(api, account_body(), track_id=f"conformance-paging-{number}")
        for number in range(REQUESTS)
    }
    callout_receiver.wait_for(path, REQUESTS)
    # An attempt is recorded once its answer is in: the last ones may trail the receiver.
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        rows = api.get(HISTORY, params={"failedOnly": "false", "pageSize": 40, "page": 2})
        assert rows.status_code == 200, rows.text
        if len(rows.json()["calloutHistories"]) >= REQUESTS - 40:
            return request_ids
        assert time.monotonic() < deadline, rows.json()
        time.sleep(0.02)


def announced_ids(page: dict) -> list[str]:
    """The async request each row of a raw history page announced."""
    return [json.loads(row["eventContext"])["request"]["id"] for row in page["calloutHistories"]]


def test_pages_hold_20_rows_and_next_page_is_an_absolute_url_to_the_next(
    live_server, api, notifications, announced
):
    answer = notifications.get_callout_history_with_http_info(failed_only=False)

    first = body_of(answer)
    assert set(first) == {"success", "calloutHistories", "nextPage"}
    assert len(first["calloutHistories"]) == 20
    assert len(answer.data.callout_histories) == 20  # read by the SDK's own model
    assert isinstance(answer.data, models.GetCalloutHistoryVOsType)
    next_page = answer.data.next_page
    assert next_page == first["nextPage"]
    assert next_page.startswith(f"{live_server.base_url}{HISTORY}?")

    second = api.get(next_page)
    assert second.status_code == 200, second.text
    second_page = second.json()
    assert len(second_page["calloutHistories"]) == 20
    assert second_page["nextPage"].startswith("http")
    third = api.get(second_page["nextPage"])
    assert third.status_code == 200, third.text
    third_page = third.json()
    assert "nextPage" not in third_page

    ids = [announced_ids(page) for page in (first, second_page, third_page)]
    assert [len(page) for page in ids] == [20, 20, 5]
    assert sorted(sum(ids, [])) == sorted(announced)


def test_a_page_size_over_40_is_read_as_40(api, announced):
    answer = api.get(HISTORY, params={"failedOnly": "false", "pageSize": 45})

    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["success"] is True
    assert len(page["calloutHistories"]) == 40
    rest = api.get(page["nextPage"])
    assert rest.status_code == 200, rest.text
    assert len(rest.json()["calloutHistories"]) == REQUESTS - 40
    assert set(announced_ids(page) + announced_ids(rest.json())) == announced


def test_a_numeric_event_category_lists_no_callouts(notifications, announced):
    answer = notifications.get_callout_history_with_http_info(
        failed_only=False, event_category="1210"
    )

    assert body_of(answer) == {"success": True, "calloutHistories": []}
    assert answer.data.callout_histories == []
    assert answer.data.next_page is None
