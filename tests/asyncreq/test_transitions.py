"""The state machine on its own, without a database: what an attempt's answer, a timeout or
an expired lease makes of a running request, and the columns and event each sets."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from asyncgate.asyncreq.models import ClaimedRequest, State
from asyncgate.asyncreq.outcomes import default_process_id
from asyncgate.asyncreq.retry import RetryPolicy
from asyncgate.asyncreq.transitions import (
    DEFAULT_LIMIT_WAIT,
    LEASE_REASON,
    TIMEOUT_REASON,
    Abandoned,
    Failed,
    OutOfAttempts,
    Requeued,
    RetryAt,
    Succeeded,
    WaitOutLimit,
    after_attempt,
    after_lease_expired,
)
from asyncgate.http.answer import Answer
from asyncgate.notifications.outbox import EventType

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=3, base_delay=timedelta(seconds=10), max_delay=timedelta(hours=1), jitter=0.0
)
TEMPORARY = {"success": False, "reasons": [{"code": 50000061, "message": "try later"}]}


@pytest.fixture(autouse=True)
def emptied_queue() -> None:
    """No database here, so no queue to empty (the package's fixture would open one)."""


def claimed(attempts: int = 1) -> ClaimedRequest:
    return ClaimedRequest(
        id="0b6f3c9e-5a1d-4f7e-9c2b-8d4e6f1a2b3c",
        tenant_id="tenant-1",
        method="POST",
        path="/v1/accounts",
        query_string="",
        headers={},
        body=b"{}",
        track_id="t1",
        role="admin",
        client_id=None,
        attempts=attempts,
        run_after=NOW - timedelta(minutes=1),
        created_at=NOW - timedelta(minutes=1),
    )


def answer(
    status: int,
    document: object,
    *,
    resource_id: str | None = None,
    retry_after: timedelta | None = None,
) -> Answer:
    return Answer(status, orjson.dumps(document), resource_id, retry_after)


class TestSuccess:
    def test_names_the_declared_resource_and_keeps_the_effects(self):
        ok = answer(200, {"success": True, "id": "from-body"}, resource_id="declared")
        transition = after_attempt(claimed(), ok, POLICY, NOW)

        assert transition == Succeeded(ok, NOW, "declared")
        assert transition.succeeded
        assert transition.columns() == {
            "state": State.SUCCEEDED,
            "completed_at": NOW,
            "resource_id": "declared",
            "response_status": 200,
            "response_body": ok.body,
        }

    def test_falls_back_on_the_id_the_answer_names(self):
        ok = answer(200, {"success": True, "id": "from-body"})
        assert after_attempt(claimed(), ok, POLICY, NOW) == Succeeded(ok, NOW, "from-body")

    def test_announces_the_resource(self):
        request = claimed()
        ok = answer(201, {"success": True}, resource_id="A-1")
        event = after_attempt(request, ok, POLICY, NOW).event(request)

        assert event is not None
        assert event["event_type"] == EventType.ASYNC_REQUEST_SUCCEEDED
        assert event["object_id"] == request.id
        payload = event["payload"]
        assert isinstance(payload, dict)
        assert (payload["state"], payload["data"]) == ("succeeded", {"id": "A-1"})


class TestDeterministicFailure:
    REFUSED = {
        "success": False,
        "processId": "ABCDEF0123456789",
        "reasons": [{"code": 50000022, "message": "Missing required field: name"}],
    }

    def test_fails_at_once_under_the_answers_process_id(self):
        refused = answer(400, self.REFUSED)
        transition = after_attempt(claimed(), refused, POLICY, NOW)

        assert transition == Failed(refused, NOW, "ABCDEF0123456789")
        assert not transition.succeeded
        assert transition.columns() == {
            "state": State.FAILED,
            "completed_at": NOW,
            "process_id": "ABCDEF0123456789",
            "response_status": 400,
            "response_body": refused.body,
        }

    def test_announces_the_answers_reasons(self):
        request = claimed()
        event = after_attempt(request, answer(400, self.REFUSED), POLICY, NOW).event(request)

        assert event is not None
        assert event["event_type"] == EventType.ASYNC_REQUEST_FAILED
        payload = event["payload"]
        assert isinstance(payload, dict)
        assert payload["reasons"] == self.REFUSED["reasons"]
        assert payload["processId"] == "ABCDEF0123456789"

    def test_without_a_process_id_the_requests_own_stands_in(self):
        refused = answer(400, {"success": False, "reasons": [{"code": 50000022}]})
        transition = after_attempt(claimed(), refused, POLICY, NOW)
        assert transition == Failed(refused, NOW, default_process_id(claimed()))


class TestTransientFailure:
    def test_is_retried_after_the_base_delay(self):
        temporary = answer(503, TEMPORARY)
        transition = after_attempt(claimed(1), temporary, POLICY, NOW)

        assert transition == RetryAt(
            temporary, NOW + POLICY.base_delay, "transient failure: HTTP 503"
        )
        assert not transition.succeeded
        assert transition.event(claimed()) is None
        assert transition.columns() == {
            "state": State.QUEUED,
            "run_after": NOW + POLICY.base_delay,
            "last_error": "transient failure: HTTP 503",
            "response_status": 503,
            "response_body": temporary.body,
        }

    def test_each_retry_waits_twice_as_long_as_the_one_before(self):
        temporary = answer(503, TEMPORARY)
        policy = replace(POLICY, max_attempts=5)
        waits = []
        for attempt in (1, 2, 3, 4):
            transition = after_attempt(claimed(attempt), temporary, policy, NOW)
            assert isinstance(transition, RetryAt)
            waits.append(transition.run_after - NOW)
        assert waits == [timedelta(seconds=seconds) for seconds in (10, 20, 40, 80)]

    def test_the_jitter_comes_from_the_random_source_given(self):
        temporary = answer(503, TEMPORARY)
        policy = replace(POLICY, jitter=0.2)

        def retry_at(seed: int) -> datetime:
            transition = after_attempt(claimed(), temporary, policy, NOW, random.Random(seed))
            assert isinstance(transition, RetryAt)
            return transition.run_after

        assert retry_at(7) == retry_at(7) != retry_at(8)
        assert NOW + timedelta(seconds=8) <= retry_at(7) <= NOW + timedelta(seconds=12)

    def test_on_the_last_attempt_fails_with_the_last_error(self):
        request = claimed(POLICY.max_attempts)
        temporary = answer(503, TEMPORARY)
        transition = after_attempt(request, temporary, POLICY, NOW)

        process_id = default_process_id(request)
        assert transition == OutOfAttempts(
            temporary, NOW, process_id, "transient failure: HTTP 503"
        )
        assert transition.columns() == {
            "state": State.FAILED,
            "completed_at": NOW,
            "process_id": process_id,
            "last_error": "transient failure: HTTP 503",
            "response_status": 503,
            "response_body": temporary.body,
        }
        event = transition.event(request)
        assert event is not None
        payload = event["payload"]
        assert isinstance(payload, dict)
        assert payload["reasons"] == TEMPORARY["reasons"]


class TestTimeout:
    def test_is_a_transient_failure_without_an_answer(self):
        transition = after_attempt(claimed(1), None, POLICY, NOW)

        assert transition == RetryAt(None, NOW + POLICY.base_delay, "timed out")
        assert transition.columns() == {
            "state": State.QUEUED,
            "run_after": NOW + POLICY.base_delay,
            "last_error": "timed out",
            "response_status": None,
            "response_body": None,
        }

    def test_on_the_last_attempt_fails_with_the_timeout_reason(self):
        request = claimed(POLICY.max_attempts)
        transition = after_attempt(request, None, POLICY, NOW)

        assert transition == OutOfAttempts(None, NOW, default_process_id(request), "timed out")
        event = transition.event(request)
        assert event is not None
        payload = event["payload"]
        assert isinstance(payload, dict)
        assert payload["reasons"] == [TIMEOUT_REASON]
        assert payload["processId"] == default_process_id(request)


class TestLimit:
    LIMITED = {"success": False, "reasons": [{"code": 50000070, "message": "slow down"}]}

    def test_gives_the_attempt_back_and_honours_retry_after(self):
        limited = answer(429, self.LIMITED, retry_after=timedelta(seconds=42))
        transition = after_attempt(claimed(2), limited, POLICY, NOW)

        assert transition == WaitOutLimit(limited, NOW + timedelta(seconds=42), attempts=1)
        assert transition.event(claimed(2)) is None
        assert transition.columns() == {
            "state": State.QUEUED,
            "attempts": 1,
            "run_after": NOW + timedelta(seconds=42),
            "last_error": "the tenant's request limit was reached; waiting",
            "response_status": 429,
            "response_body": limited.body,
        }

    def test_waits_the_default_when_the_answer_does_not_say(self):
        limited = answer(429, self.LIMITED)
        transition = after_attempt(claimed(1), limited, POLICY, NOW)
        assert transition == WaitOutLimit(limited, NOW + DEFAULT_LIMIT_WAIT, attempts=0)

    def test_is_waited_out_even_on_the_last_attempt(self):
        limited = answer(400, self.LIMITED)
        transition = after_attempt(claimed(POLICY.max_attempts), limited, POLICY, NOW)
        assert isinstance(transition, WaitOutLimit)


class TestLeaseExpiry:
    def test_with_attempts_left_the_request_is_due_again_at_once(self):
        transition = after_lease_expired(claimed(POLICY.max_attempts - 1), POLICY, NOW)

        assert transition == Requeued(run_after=NOW)
        assert transition.event(claimed()) is None
        # An earlier attempt's answer, if any, stays.
        assert transition.columns() == {
            "state": State.QUEUED,
            "run_after": NOW,
            "last_error": "the worker's lease expired before it finished",
        }

    def test_with_attempts_spent_the_request_fails_with_the_lease_reason(self):
        request = claimed(POLICY.max_attempts)
        transition = after_lease_expired(request, POLICY, NOW)

        assert transition == Abandoned(NOW, default_process_id(request))
        assert transition.columns() == {
            "state": State.FAILED,
            "completed_at": NOW,
            "process_id": default_process_id(request),
        }
        event = transition.event(request)
        assert event is not None
        assert event["event_type"] == EventType.ASYNC_REQUEST_FAILED
        payload = event["payload"]
        assert isinstance(payload, dict)
        assert payload["reasons"] == [LEASE_REASON]
        assert payload["processId"] == default_process_id(request)


@pytest.mark.parametrize("attempts", [1, POLICY.max_attempts], ids=["retry", "out of attempts"])
def test_a_kind_sets_the_same_columns_with_or_without_an_answer(attempts):
    """The worker shares one statement between the transitions of a kind."""
    answered = after_attempt(claimed(attempts), answer(503, TEMPORARY), POLICY, NOW)
    timed_out = after_attempt(claimed(attempts), None, POLICY, NOW)
    assert type(answered) is type(timed_out)
    assert answered.columns().keys() == timed_out.columns().keys()
