"""Values at the ends of what a parameter's type allows are refused with a Zuora error of
category 20 (invalid value), never answered with a 5xx."""

from __future__ import annotations

import pytest

from asyncgate.http.errors import Category
from asyncgate.http.validation import MAX_INT32
from tests.http.assertions import assert_zuora_error

PAST_64_BITS = "100000000000000000000"
PAGED = [
    "/v1/catalog/products?page={}",
    "/v1/subscriptions/accounts/A00000001?page={}",
    "/v1/rateplan/0123456789abcdef0123456789abcdef/productRatePlan?page={}",
    "/v1/notification-history/callout?page={}",
    "/notifications/notification-definitions?start={}",
]
CALENDAR_EDGES = [
    "endTime=0001-01-01T00:00:00",
    "endTime=0001-01-01T00:00:00%2B14:00",
    "startTime=9999-12-31T23:59:59-14:00",
    "endTime=9999-12-31T23:59:59",
]


@pytest.mark.parametrize("path", PAGED, ids=lambda path: path.split("?")[0])
@pytest.mark.parametrize("value", [str(MAX_INT32 + 1), "9223372036854775807", PAST_64_BITS])
async def test_a_page_past_32_bits_is_an_invalid_value(client, tenant, path, value):
    response = await client.get(path.format(value), headers=tenant.headers)

    assert_zuora_error(response, 400, Category.INVALID_VALUE)


@pytest.mark.parametrize("path", PAGED, ids=lambda path: path.split("?")[0])
async def test_the_last_32_bit_page_is_served(client, tenant, path):
    response = await client.get(path.format(MAX_INT32), headers=tenant.headers)

    assert response.status_code in (200, 404), response.text


@pytest.mark.parametrize("query", CALENDAR_EDGES)
async def test_callout_history_times_at_the_calendars_ends_are_invalid_values(
    client, tenant, query
):
    response = await client.get(f"/v1/notification-history/callout?{query}", headers=tenant.headers)

    assert_zuora_error(response, 400, Category.INVALID_VALUE)
