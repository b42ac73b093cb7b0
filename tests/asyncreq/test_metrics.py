"""``GET /metrics``: the queue and the callouts as Prometheus reads them, behind a token."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from asyncgate.notifications.models import DeliveryState
from tests.asyncreq.support import ASYNC_TRIALS, accept, delivered_once, trial

TOKEN = "metrics-scrape-token"


@pytest.fixture
def scraped(app):
    """The app with a metrics token set."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    yield
    app.state.settings = settings


async def scrape(client) -> dict[str, float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        name: float(value)
        for name, value in re.findall(r"^(\w+(?:\{[^}]*\})?) (\S+)$", response.text, re.MULTILINE)
    }


class TestAccess:
    async def test_without_a_configured_token_there_is_no_such_endpoint(self, client):
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

        assert response.status_code == 404
        assert response.json()["success"] is False

    @pytest.mark.parametrize(
        "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
    )
    async def test_a_scrape_without_the_token_is_refused(self, client, scraped, authorization):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = await client.get("/metrics", headers=headers)

        assert response.status_code == 401
        assert response.json()["success"] is False
        assert "asyncgate_" not in response.text


class TestQueue:
    async def test_accepted_requests_count_as_queued_until_a_worker_runs_them(
        self, client, tenant, worker, scraped
    ):
        for _ in range(3):
            await accept(client, tenant, ASYNC_TRIALS, trial())

        before = await scrape(client)
        assert before['asyncgate_async_requests{state="queued"}'] == 3
        assert before['asyncgate_async_requests{state="running"}'] == 0
        assert before["asyncgate_async_requests_queued_seconds"] > 0

        assert await worker.run_once() == 3
        after = await scrape(client)
        assert after['asyncgate_async_requests{state="queued"}'] == 0
        assert after["asyncgate_async_requests_queued_seconds"] == 0

    async def test_a_request_waiting_for_its_retry_is_retrying_not_queued(
        self, client, tenant, worker, scraped
    ):
        await accept(client, tenant, ASYNC_TRIALS, trial(failures=1, error="temporary"))
        assert await worker.run_once() == 1

        figures = await scrape(client)
        assert figures['asyncgate_async_requests{state="retrying"}'] == 1
        assert figures['asyncgate_async_requests{state="queued"}'] == 0

    async def test_claimed_requests_are_running(self, client, tenant, worker, scraped):
        await accept(client, tenant, ASYNC_TRIALS, trial())
        claimed = await worker.claim(10)

        assert (await scrape(client))['asyncgate_async_requests{state="running"}'] == 1
        await worker.execute_batch(claimed)
        assert (await scrape(client))['asyncgate_async_requests{state="running"}'] == 0


class TestCallouts:
    async def test_deliveries_not_yet_finished_are_counted_by_state(
        self, client, tenant, database, worker, scraped
    ):
        request_ids = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(2)]
        assert await worker.run_once() == 2
        await delivered_once(database, request_ids[0], DeliveryState.PENDING)
        await delivered_once(database, request_ids[1], DeliveryState.DELIVERED)

        figures = await scrape(client)
        assert figures['asyncgate_callout_deliveries{state="pending"}'] == 1
        assert figures['asyncgate_callout_deliveries{state="delivering"}'] == 0


async def test_the_answering_process_reports_its_accepts_and_its_own_figures(
    client, tenant, scraped
):
    before = (await scrape(client))["asyncgate_async_accept_seconds_count"]
    await accept(client, tenant, ASYNC_TRIALS, trial())

    figures = await scrape(client)
    assert figures["asyncgate_async_accept_seconds_count"] == before + 1
    assert figures['asyncgate_async_accept_seconds_bucket{le="+Inf"}'] == before + 1
    assert "process_cpu_seconds_total" in figures
