"""The state machine of a running request: what the outcome of an attempt, or the expiry of
its lease, makes of it.

Pure functions of the request, the outcome, the retry policy and the time, each returning a
typed value; the worker applies it (with a fenced update, or to the rows the lease reaper
loaded). A value knows the queue columns it sets and, when it finishes the request, the event
that announces it. Every transition out of ``running`` also gives up the lease: the worker
clears it along with the columns.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from asyncgate.asyncreq.models import ClaimedRequest, State, StoredRequest
from asyncgate.asyncreq.outcomes import (
    default_process_id,
    finished_event,
    process_id_of,
    resource_id_of,
)
from asyncgate.asyncreq.retry import Outcome, RetryPolicy, classify
from asyncgate.http.answer import Answer

# How long to wait out a tenant's limit when the answer did not say (no Retry-After).
DEFAULT_LIMIT_WAIT = timedelta(seconds=1)
# The reasons announced for failures that produced no answer of their own.
TIMEOUT_REASON: dict[str, object] = {
    "code": 50003060,
    "message": "The request did not complete within its time limit",
}
LEASE_REASON: dict[str, object] = {
    "code": 50003060,
    "message": "The worker executing the request stopped before it finished",
}
LIMIT_WAIT_ERROR = "the tenant's request limit was reached; waiting"
LEASE_EXPIRED_ERROR = "the worker's lease expired before it finished"


class Transition(ABC):
    """A change of a running request's state. Each kind always sets the same columns, so
    the updates of one kind share a statement."""

    # Whether the attempt's effects are kept: only a success leaves anything behind.
    succeeded: ClassVar[bool] = False

    @abstractmethod
    def columns(self) -> dict[str, object]:
        """The queue columns this sets, by name: the one place a transition meets the table."""

    def event(self, request: StoredRequest) -> dict[str, object] | None:
        """The outbox event of the request this finishes; None when it runs again, and for a
        job (see ``asyncreq.jobs``)."""
        return None


@dataclass(frozen=True)
class Succeeded(Transition):
    """The attempt succeeded: the request is done and names the resource it changed."""

    answer: Answer
    completed_at: datetime
    resource_id: str | None
    succeeded: ClassVar[bool] = True

    def columns(self) -> dict[str, object]:
        return _answer_columns(self.answer) | {
            "state": State.SUCCEEDED,
            "completed_at": self.completed_at,
            "resource_id": self.resource_id,
        }

    def event(self, request: StoredRequest) -> dict[str, object] | None:
        return finished_event(
            request,
            state=State.SUCCEEDED,
            completed_at=self.completed_at,
            resource_id=self.resource_id,
        )


class _FailsTheRequest(Transition):
    """A transition that ends the request, failed, and announces why. Its dataclass declares
    the two fields below in the order its constructor takes them."""

    completed_at: datetime
    process_id: str

    @abstractmethod
    def reasons(self) -> list[dict[str, object]]:
        """Why the request failed, as the Async Request Failed event says."""

    def failed_columns(self) -> dict[str, object]:
        return {
            "state": State.FAILED,
            "completed_at": self.completed_at,
            "process_id": self.process_id,
        }

    def event(self, request: StoredRequest) -> dict[str, object] | None:
        return finished_event(
            request,
            state=State.FAILED,
            completed_at=self.completed_at,
            reasons=self.reasons(),
            process_id=self.process_id,
        )


@dataclass(frozen=True)
class Failed(_FailsTheRequest):
    """The attempt failed the way it would fail again (a deterministic failure): the request
    is done at once."""

    answer: Answer
    completed_at: datetime
    process_id: str

    def reasons(self) -> list[dict[str, object]]:
        return self.answer.reasons()

    def columns(self) -> dict[str, object]:
        return _answer_columns(self.answer) | self.failed_columns()


@dataclass(frozen=True)
class OutOfAttempts(_FailsTheRequest):
    """A transient failure, or a timeout (no answer), on the last attempt: the request is done,
    failed, with the last error."""

    answer: Answer | None
    completed_at: datetime
    process_id: str
    last_error: str

    def reasons(self) -> list[dict[str, object]]:
        return [TIMEOUT_REASON] if self.answer is None else self.answer.reasons()

    def columns(self) -> dict[str, object]:
        return (
            _answer_columns(self.answer) | self.failed_columns() | {"last_error": self.last_error}
        )


@dataclass(frozen=True)
class RetryAt(Transition):
    """A transient failure, or a timeout (no answer), with attempts left: queued again, due at
    ``run_after``."""

    answer: Answer | None
    run_after: datetime
    last_error: str

    def columns(self) -> dict[str, object]:
        return _answer_columns(self.answer) | {
            "state": State.QUEUED,
            "run_after": self.run_after,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class WaitOutLimit(Transition):
    """The tenant's limit was reached: queued again for when it has passed, and the attempt
    given back (``attempts``), since waiting out a limit is not failing."""

    answer: Answer
    run_after: datetime
    attempts: int

    def columns(self) -> dict[str, object]:
        return _answer_columns(self.answer) | {
            "state": State.QUEUED,
            "attempts": self.attempts,
            "run_after": self.run_after,
            "last_error": LIMIT_WAIT_ERROR,
        }


@dataclass(frozen=True)
class Requeued(Transition):
    """The lease expired (its worker stopped) with attempts left: queued again, due at once.
    The answer of an earlier attempt, if any, stays."""

    run_after: datetime

    def columns(self) -> dict[str, object]:
        return {
            "state": State.QUEUED,
            "run_after": self.run_after,
            "last_error": LEASE_EXPIRED_ERROR,
        }


@dataclass(frozen=True)
class Abandoned(_FailsTheRequest):
    """The lease expired on the last attempt: the request is done, failed."""

    completed_at: datetime
    process_id: str

    def reasons(self) -> list[dict[str, object]]:
        return [LEASE_REASON]

    def columns(self) -> dict[str, object]:
        return self.failed_columns()


AfterAttempt = Succeeded | Failed | OutOfAttempts | RetryAt | WaitOutLimit
AfterLease = Requeued | Abandoned


def after_attempt(
    request: ClaimedRequest,
    answer: Answer | None,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random | None = None,
) -> AfterAttempt:
    """What an executed attempt makes of ``request``: ``answer`` is the route's, None when the
    attempt ran out of time (a transient failure). ``rng`` draws the retry's jitter."""
    if answer is not None:
        outcome = classify(answer.status, answer.reason_categories(), answer.reports_failure())
        if outcome == Outcome.SUCCEEDED:
            return Succeeded(answer, now, resource_id_of(answer))
        if outcome == Outcome.LIMITED:
            wait = DEFAULT_LIMIT_WAIT if answer.retry_after is None else answer.retry_after
            return WaitOutLimit(answer, now + wait, request.attempts - 1)
        if outcome == Outcome.FAILED:
            return Failed(answer, now, process_id_of(answer, request))
    error = "timed out" if answer is None else f"transient failure: HTTP {answer.status}"
    next_run = policy.next_run(request.attempts, now, rng)
    if next_run is not None:
        return RetryAt(answer, next_run, error)
    process_id = default_process_id(request) if answer is None else process_id_of(answer, request)
    return OutOfAttempts(answer, now, process_id, error)


def after_lease_expired(request: StoredRequest, policy: RetryPolicy, now: datetime) -> AfterLease:
    """What the expiry of its worker's lease makes of ``request``, still running."""
    if request.attempts < policy.max_attempts:
        return Requeued(run_after=now)
    return Abandoned(now, default_process_id(request))


def _answer_columns(answer: Answer | None) -> dict[str, object]:
    """The latest attempt's answer; none when it timed out."""
    if answer is None:
        return {"response_status": None, "response_body": None}
    return {"response_status": answer.status, "response_body": answer.body}
