"""The retry policy on its own: how answers are classified and when attempts are repeated."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from asyncgate.asyncreq.retry import Outcome, RetryPolicy, classify
from asyncgate.http.answer import Answer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def code(category: int) -> int:
    """An eight-digit REST code of this category (resource 500010, accounts)."""
    return 50001000 + category


class TestClassify:
    @pytest.mark.parametrize("status", [200, 201, 202, 204])
    def test_success(self, status):
        assert classify(status, []) == Outcome.SUCCEEDED

    @pytest.mark.parametrize(
        ("status", "category"),
        [
            (403, 10),
            (401, 11),
            (400, 20),
            (400, 21),
            (400, 22),
            (400, 23),
            (400, 30),
            (409, 30),
            (404, 40),
            (405, 45),
            (400, 90),
            (413, 20),
            (415, 20),
        ],
    )
    def test_deterministic_categories_fail_at_once(self, status, category):
        assert classify(status, [code(category)]) == Outcome.FAILED

    @pytest.mark.parametrize(("status", "category"), [(409, 50), (500, 60), (503, 61)])
    def test_contention_internal_and_temporary_errors_are_transient(self, status, category):
        assert classify(status, [code(category)]) == Outcome.TRANSIENT

    @pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 409, 425])
    def test_server_errors_timeouts_conflicts_and_too_early_are_transient(self, status):
        assert classify(status, []) == Outcome.TRANSIENT

    @pytest.mark.parametrize(("status", "category"), [(400, 60), (400, 50), (400, 61), (404, 60)])
    def test_another_client_error_fails_whatever_its_reasons(self, status, category):
        """A body the route could not read answers 400 however it is labelled: the same
        request would be refused again."""
        assert classify(status, [code(category)]) == Outcome.FAILED

    @pytest.mark.parametrize("status", [500, 503, 409])
    def test_a_deterministic_reason_fails_whatever_the_status(self, status):
        assert classify(status, [code(30)]) == Outcome.FAILED

    @pytest.mark.parametrize(("status", "codes"), [(429, []), (429, [code(70)]), (400, [code(70)])])
    def test_limits_are_waited_out(self, status, codes):
        assert classify(status, codes) == Outcome.LIMITED

    def test_a_deterministic_reason_among_transient_ones_fails(self):
        assert classify(409, [code(20), code(50)]) == Outcome.FAILED

    def test_a_4xx_without_reasons_fails(self):
        assert classify(400, []) == Outcome.FAILED

    @pytest.mark.parametrize(
        ("category", "outcome"),
        [
            (20, Outcome.FAILED),
            (40, Outcome.FAILED),
            (50, Outcome.TRANSIENT),
            (70, Outcome.LIMITED),
        ],
    )
    def test_a_200_that_reports_failure_is_judged_by_its_reasons(self, category, outcome):
        assert classify(200, [code(category)], reports_failure=True) == outcome

    def test_a_200_that_reports_failure_without_reasons_fails(self):
        assert classify(200, [], reports_failure=True) == Outcome.FAILED

    def test_bare_categories_count_like_codes(self):
        assert classify(409, [50]) == Outcome.TRANSIENT
        assert classify(400, [70]) == Outcome.LIMITED


class TestAnswerCategories:
    def answer(self, status: int, body: object) -> Answer:
        return Answer(status=status, body=orjson.dumps(body), resource_id=None)

    def test_rest_reasons(self):
        body = {"success": False, "reasons": [{"code": code(22), "message": "m"}]}
        assert self.answer(400, body).reason_categories() == [22]

    @pytest.mark.parametrize(
        ("symbol", "category", "outcome"),
        [
            ("LOCK_COMPETITION", 50, Outcome.TRANSIENT),
            ("TEMPORARY_ERROR", 61, Outcome.TRANSIENT),
            ("REQUEST_EXCEEDED_RATE", 70, Outcome.LIMITED),
            ("INVALID_VALUE", 20, Outcome.FAILED),
            ("INVALID_ID", 40, Outcome.FAILED),
        ],
    )
    def test_crud_symbolic_codes(self, symbol, category, outcome):
        body = {"Success": False, "Errors": [{"Code": symbol, "Message": "m"}]}
        answer = self.answer(409, body)
        assert answer.reason_categories() == [category]
        assert classify(answer.status, answer.reason_categories()) == outcome

    @pytest.mark.parametrize(
        "body",
        [
            {"success": False, "reasons": []},
            {"Success": False, "Errors": []},
        ],
    )
    def test_a_body_with_success_false_reports_failure(self, body):
        assert self.answer(200, body).reports_failure()

    @pytest.mark.parametrize(
        "body",
        [
            b'{"success": true, "accountId": "a"}',
            b'{"success": true, "flags": {"success": false}}',  # not at the top
            b'{"success": "false"}',
            b"[false]",
            b"not json, false",
            b"",
        ],
    )
    def test_other_bodies_do_not_report_failure(self, body):
        assert not Answer(status=200, body=body, resource_id=None).reports_failure()

    @pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"Errors": [{"Code": "?"}]}'])
    def test_answers_without_known_reasons(self, body):
        assert Answer(status=400, body=body, resource_id=None).reason_categories() == []


class TestRetryPolicy:
    policy = RetryPolicy(max_attempts=10, base_delay=SECOND, max_delay=10 * SECOND, jitter=0.0)

    def test_delays_double_from_the_base(self):
        delays = [self.policy.next_run(attempt, NOW) - NOW for attempt in (1, 2, 3, 4)]
        assert delays == [SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND]

    def test_delays_stop_growing_at_the_cap(self):
        assert self.policy.next_run(5, NOW) - NOW == 10 * SECOND
        assert self.policy.next_run(9, NOW) - NOW == 10 * SECOND

    def test_a_very_late_attempt_still_waits_the_cap(self):
        policy = RetryPolicy(max_attempts=10_000, base_delay=SECOND, max_delay=10 * SECOND)
        assert policy.next_run(5_000, NOW) - NOW <= 10 * SECOND

    def test_jitter_spreads_delays_within_its_bounds(self):
        policy = RetryPolicy(max_attempts=10, base_delay=SECOND, max_delay=60 * SECOND)
        rng = random.Random(7)
        delays = [policy.next_run(3, NOW, rng) - NOW for _ in range(200)]
        assert all(4 * SECOND * 0.8 <= delay <= 4 * SECOND * 1.2 for delay in delays)
        assert len(set(delays)) > 100
        assert min(delays) < 4 * SECOND * 0.85 and max(delays) > 4 * SECOND * 1.15

    def test_jitter_never_pushes_a_delay_past_the_cap(self):
        policy = RetryPolicy(max_attempts=10, base_delay=SECOND, max_delay=5 * SECOND)
        rng = random.Random(7)
        delays = [policy.next_run(4, NOW, rng) - NOW for _ in range(200)]
        assert all(5 * SECOND * 0.8 <= delay <= 5 * SECOND for delay in delays)

    def test_no_retry_once_attempts_are_spent(self):
        assert self.policy.next_run(9, NOW) is not None
        assert self.policy.next_run(10, NOW) is None
        assert self.policy.next_run(11, NOW) is None
        assert RetryPolicy(max_attempts=1).next_run(1, NOW) is None
