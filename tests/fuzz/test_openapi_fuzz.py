"""Schemathesis against a real server: every operation of ``/openapi.json``, with every check
(no 5xx, no undocumented status, answers that fit their schemas, valid data accepted, invalid
data refused, the token required), within the bounds and the exceptions of
``schemathesis.toml``.

The server states failures by their plain HTTP statuses (``ASYNCGATE_ERROR_STATUSES=http``):
with Zuora's, a refusal is a 200 that no check could tell from an acceptance. The run is
schemathesis's own engine, as its command line runs it: its pytest integration renames the test
for each operation, which pytest 9.2 no longer allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.engine import Status, StopReason, events

from tests.conftest import BACKEND
from tests.support.live_server import LiveServer, running_server

CONFIG = Path(__file__).with_name("schemathesis.toml")

# Fuzzed on SQLite only, for the suite's time (half a minute a run); the route walker
# (``test_route_walker.py``) sends its extreme values on both backends.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BACKEND != "sqlite", reason="fuzzed on SQLite; walked on both"),
]


@pytest.fixture(scope="module")
def fuzzed_server(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with running_server(
        tmp_path_factory.mktemp("fuzzed-server"),
        fresh_database_url("asyncgate_fuzz"),
        ASYNCGATE_ERROR_STATUSES="http",
    ) as server:
        yield server


def test_every_operation_answers_as_documented(fuzzed_server: LiveServer) -> None:
    config = schemathesis.Config.from_path(CONFIG)
    config.projects.default.update(headers=fuzzed_server.bearer_headers())
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.base_url}/openapi.json", config=config)

    problems = dict.fromkeys(_problems(schemathesis.engine.from_schema(schema).execute()))

    assert not problems, "\n\n".join(problems)


def _problems(stream: Iterable[events.EngineEvent]) -> Iterator[str]:
    """Each failed check (with the request that made it fail, as curl), each error, and a run
    that stopped before it tested every operation."""
    for event in stream:
        if isinstance(event, events.ScenarioFinished) and event.status != Status.SUCCESS:
            yield from _failed_checks(event)
        elif isinstance(event, events.NonFatalError):
            yield f"{event.label}: {event.info.format()}"
        elif isinstance(event, events.FatalError):
            yield f"schemathesis stopped: {event.exception!r}"
        elif isinstance(event, events.EngineFinished):
            if event.stop_reason != StopReason.COMPLETED:
                yield f"schemathesis stopped early: {event.stop_reason.skip_explanation}"
            yield from (f"{failure.title}\n{failure.message}" for failure in event.failures)


def _failed_checks(event: events.ScenarioFinished) -> Iterator[str]:
    recorder = event.recorder
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                interaction = recorder.interactions.get(case_id)
                response = interaction.response if interaction else None
                answer = (
                    ""
                    if response is None
                    else f"[{response.status_code}] {response.content[:500]!r}\n"
                )
                yield (
                    f"{recorder.label}: {failure.title}\n{failure.message}\n{answer}"
                    f"{check.failure_info.code_sample}"
                )
