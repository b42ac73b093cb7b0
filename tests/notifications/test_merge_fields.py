"""calloutParams: merge fields of an event's payload, sent as query parameters."""

from __future__ import annotations

from asyncgate.notifications.merge_fields import merged_params

PAYLOAD = {
    "createTime": "2021-10-03T10:33:12Z",
    "completeTime": "2021-10-03T10:34:22Z",
    "request": {"id": "r-1", "method": "POST", "url": "/v1/async/accounts", "trackId": None},
    "state": "succeeded",
    "data": {"id": "a-1"},
}


class TestMergedParams:
    def test_placeholders_take_the_events_values(self):
        params = {"requestId": "<Request.Id>", "state": "<State>", "account": "<Data.Id>"}

        assert merged_params(params, PAYLOAD) == {
            "requestId": "r-1",
            "state": "succeeded",
            "account": "a-1",
        }

    def test_names_match_without_regard_to_case_and_may_sit_in_text(self):
        params = {"where": "done at <completetime> by <REQUEST.METHOD>"}

        assert merged_params(params, PAYLOAD) == {"where": "done at 2021-10-03T10:34:22Z by POST"}

    def test_a_null_merges_empty_and_an_unknown_field_is_sent_as_written(self):
        params = {"track": "<Request.TrackId>", "other": "<Invoice.Id>", "plain": "x"}

        assert merged_params(params, PAYLOAD) == {
            "track": "",
            "other": "<Invoice.Id>",
            "plain": "x",
        }
