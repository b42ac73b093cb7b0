"""A receiver that refuses connections costs no busy loop: a real ``asyncgate serve`` tries
each of its callouts once, then sits near idle while they wait for their retry time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import psutil
import pytest

from tests.billing.api import account_body
from tests.support.live_server import LiveServer, children_of, free_port, running_server

pytestmark = pytest.mark.e2e

REQUESTS = 60
WAIT_SECONDS = 30
IDLE_WINDOW_SECONDS = 3.0
# A loop that looked for work without pause would take about one CPU for the window; an idle
# service (wake-up watchers, housekeeping) takes a few percent of one.
MOST_CPU_WHILE_WAITING = 0.2 * IDLE_WINDOW_SECONDS


@pytest.fixture(scope="module")
def server(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with running_server(
        tmp_path_factory.mktemp("down-receiver"),
        fresh_database_url("asyncgate_down_receiver"),
        ASYNCGATE_CALLOUT_ALLOW_HTTP="true",
        ASYNCGATE_CALLOUT_ALLOW_PRIVATE_ADDRESSES="true",
        ASYNCGATE_CALLOUT_ALLOW_PORTS="true",
        # A retry waits minutes of a minute each: none falls due during the test.
        ASYNCGATE_CALLOUT_INTERVAL_UNIT="60",
    ) as server:
        yield server


def test_callouts_to_a_receiver_that_refuses_connections_wait_without_a_busy_loop(server):
    down = f"http://127.0.0.1:{free_port()}/down"  # nothing listens there
    with httpx.Client(base_url=server.base_url, headers=server.bearer_headers(), timeout=10) as api:
        defined = api.post(
            "/notifications/notification-definitions",
            json={
                "name": f"down {uuid.uuid4().hex[:8]}",
                "eventTypeName": "Async Request Succeeded",
                "calloutActive": True,
                "callout": {
                    "name": "down",
                    "eventTypeName": "Async Request Succeeded",
                    "calloutBaseurl": down,
                    "httpMethod": "POST",
                    "requiredAuth": False,
                    "calloutRetry": True,
                },
            },
        )
        assert defined.status_code == 200, defined.text
        for _ in range(REQUESTS):
            assert api.post("/v1/async/accounts", json=account_body()).status_code == 202
        attempts = attempts_once_all_failed(api)

        cpu = cpu_seconds_over(server, IDLE_WINDOW_SECONDS)

        assert attempts_once_all_failed(api) == attempts  # no attempt came meanwhile
    assert len(attempts) == REQUESTS
    assert {(row["attemptedNum"], row["responseCode"]) for row in attempts} == {("1", None)}
    assert cpu < MOST_CPU_WHILE_WAITING, f"{cpu:.2f} s of CPU in {IDLE_WINDOW_SECONDS:g} s"


def attempts_once_all_failed(api: httpx.Client) -> list[dict]:
    """The callout history, once every request's first attempt is in it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = api.get(
            "/v1/notification-history/callout", params={"failedOnly": "true", "pageSize": 40}
        )
        assert answer.status_code == 200, answer.text
        rows = answer.json()["calloutHistories"]
        page = 2
        while len(rows) < REQUESTS and answer.json().get("nextPage"):
            answer = api.get(
                "/v1/notification-history/callout",
                params={"failedOnly": "true", "pageSize": 40, "page": page},
            )
            rows += answer.json()["calloutHistories"]
            page += 1
        if len(rows) >= REQUESTS:
            return sorted(rows, key=lambda row: row["notificationId"])
        assert time.monotonic() < deadline, f"{len(rows)} attempts recorded"
        time.sleep(0.1)


def cpu_seconds_over(server: LiveServer, seconds: float) -> float:
    """CPU time ``serve`` and its child processes take over the next ``seconds``."""
    assert server.pid is not None
    processes = [psutil.Process(pid) for pid in (server.pid, *children_of(server.pid))]

    def used() -> float:
        return sum(sum(process.cpu_times()[:2]) for process in processes)

    before = used()
    time.sleep(seconds)
    return used() - before
