"""The console's lists take any page number and time they are given without failing: the
ones past what can be served are shown as the last page that can, or told as a bad filter."""

from __future__ import annotations

import pytest

PAST_64_BITS = "100000000000000000000"


@pytest.mark.parametrize("path", ["/console/requests", "/console/callouts/history"])
@pytest.mark.parametrize("page", ["9223372036854775807", PAST_64_BITS, "-5", "x"])
async def test_any_page_number_shows_a_page(as_admin, path, page):
    answer = await as_admin.get(path, params={"page": page})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("end", ["0001-01-01T00:00", "9999-12-31T23:59"])
async def test_a_time_at_the_calendars_end_is_told_as_a_bad_filter(as_admin, end):
    answer = await as_admin.get("/console/callouts/history", params={"end_time": end})

    assert answer.status_code == 200
    assert "outside" in answer.text
