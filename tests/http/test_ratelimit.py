"""Rate limits: per-tenant quotas and concurrency on the synchronous API, the async accept
quota, the token endpoint's quotas, and the async worker waiting out a tenant's limit.

The app under test has tiny limits and a clock the tests move, so windows reset without
sleeping. A small test router holds requests open to fill the concurrency limit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import func, select

from asyncgate.app import create_app, v1_router
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.worker import Worker, WorkerConfig
from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.accounts.models import Account
from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata
from asyncgate.http.errors import Category, NotFound
from asyncgate.http.ratelimit import (
    SWEEP_MIN_KEYS,
    Quota,
    QuotaCounter,
    RateLimits,
)
from asyncgate.http.routing import UnitOfWorkRoute
from tests.billing.api import account_body
from tests.factories import TenantContext, make_tenant
from tests.http.assertions import assert_zuora_error
from tests.support.clock import ManualClock
from tests.support.database import find_request, queue_of

PER_MINUTE = 5
PER_HOUR = 8
CONCURRENT = 2
CONCURRENT_RETRY_AFTER = 120
ACCEPTS_PER_MINUTE = 3
TOKENS_PER_CLIENT = 3
TOKENS_PER_IP = 4
# 30 s into a minute (and into an hour and a day): the minute window resets in 30 s.
START = datetime(2023, 11, 14, 0, 0, 30, tzinfo=UTC)
HELD = "/v1/limit-test/held"
FAILING = "/v1/limit-test/failing"
MISSING = "/v1/limit-test/missing"
TOKEN = "/oauth/token"


class Hold:
    """Keeps requests to ``HELD`` inside their handler until released."""

    def __init__(self) -> None:
        self.inside = 0
        self.released = asyncio.Event()

    async def occupy(
        self, client: httpx.AsyncClient, tenant: TenantContext, count: int = CONCURRENT
    ) -> list[asyncio.Task[httpx.Response]]:
        """Start ``count`` held requests and wait until all are inside the handler."""
        expected = self.inside + count
        tasks = [
            asyncio.create_task(client.get(HELD, headers=tenant.headers)) for _ in range(count)
        ]
        async with asyncio.timeout(5):
            while self.inside < expected:
                await asyncio.sleep(0.001)
        return tasks

    async def release(self, tasks: list[asyncio.Task[httpx.Response]]) -> list[int]:
        self.released.set()
        statuses = [answer.status_code for answer in await asyncio.gather(*tasks)]
        self.released = asyncio.Event()
        return statuses


held_router = APIRouter(prefix="/limit-test", route_class=UnitOfWorkRoute)


@held_router.get("/held")
async def held(request: Request, principal: CurrentPrincipal) -> dict:
    hold: Hold = request.app.state.hold
    hold.inside += 1
    await hold.released.wait()
    return {"success": True}


@held_router.get("/failing")
async def failing(principal: CurrentPrincipal) -> dict:
    raise RuntimeError("fails on purpose")


@held_router.get("/missing")
async def missing(principal: CurrentPrincipal) -> dict:
    raise NotFound("nothing here")


def limited_settings(settings: Settings, **overrides) -> Settings:
    return settings.model_copy(
        update={
            "tenant_concurrent_requests": CONCURRENT,
            "tenant_concurrent_retry_after": timedelta(seconds=CONCURRENT_RETRY_AFTER),
            "tenant_requests_per_minute": PER_MINUTE,
            "tenant_requests_per_hour": PER_HOUR,
            "async_accepts_per_minute": ACCEPTS_PER_MINUTE,
            "token_requests_per_minute_per_client": TOKENS_PER_CLIENT,
            "token_requests_per_minute_per_ip": TOKENS_PER_IP,
            **overrides,
        }
    )


def build_limited_app(settings: Settings, database: Database) -> FastAPI:
    """The real app with tiny limits, plus the test router mounted as the real API is."""
    app = create_app(limited_settings(settings), database)
    app.include_router(v1_router(held_router))
    return app


def client_on(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test")


@pytest.fixture(scope="module")
def limited_app(settings: Settings, database: Database) -> FastAPI:
    return build_limited_app(settings, database)


@pytest.fixture
def clock(limited_app: FastAPI) -> ManualClock:
    """A fresh set of counters for each test, on a clock the test moves."""
    clock = ManualClock(START)
    limited_app.state.rate_limits = RateLimits(
        limited_app.state.settings, limited_app.state.database, clock=clock
    )
    limited_app.state.hold = Hold()
    return clock


@pytest.fixture
def hold(limited_app: FastAPI, clock: ManualClock) -> Hold:
    return limited_app.state.hold


@pytest.fixture
async def limited(limited_app: FastAPI, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    async with client_on(limited_app) as client:
        yield client


async def spend(client: httpx.AsyncClient, tenant: TenantContext, count: int) -> None:
    """Use ``count`` requests of the tenant's quota on a real route."""
    for _ in range(count):
        response = await client.get(f"/v1/accounts/{uuid.uuid4().hex}", headers=tenant.headers)
        assert response.status_code == 404, response.text


def rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["ratelimit-limit"].split(",")[0]),
        int(headers["ratelimit-remaining"]),
        int(headers["ratelimit-reset"]),
    )


async def accounts_of(database: Database, tenant: TenantContext) -> int:
    async with database.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(Account).where(Account.tenant_id == tenant.tenant_id)
        )


async def async_requests_of(database: Database, tenant: TenantContext) -> int:
    """The tenant's requests: those listed, and those not listed yet."""
    async with queue_of(database) as queue, database.read_transaction() as session:
        listed = await session.scalar(
            select(func.count())
            .select_from(AsyncRequest)
            .where(AsyncRequest.tenant_id == tenant.tenant_id)
        )
        return listed + await queue.not_yet_listed(session, tenant.tenant_id)


class TestRateLimitHeaders:
    async def test_a_successful_answer_reports_the_minute_window(self, limited, tenant):
        response = await limited.post("/v1/accounts", json=account_body(), headers=tenant.headers)

        assert response.status_code == 200, response.text
        assert rate_headers(response) == (PER_MINUTE, PER_MINUTE - 1, 30)
        assert "retry-after" not in response.headers

    async def test_the_limit_lists_every_policy_after_the_closest_one(self, limited, tenant):
        """The IETF draft Zuora follows ("Rate limits": ``2250000, 50000;w=60, ...``)."""
        response = await limited.get("/v1/catalog/products", headers=tenant.headers)

        policies = f"{PER_MINUTE};w=60, {PER_HOUR};w=3600, 27000000;w=86400"
        assert response.headers["ratelimit-limit"] == f"{PER_MINUTE}, {policies}"

    async def test_error_answers_carry_them_too(self, limited, tenant):
        missing = await limited.get(f"/v1/accounts/{uuid.uuid4().hex}", headers=tenant.headers)
        crashed = await limited.get(FAILING, headers=tenant.headers)

        assert missing.status_code == 404
        assert rate_headers(missing) == (PER_MINUTE, PER_MINUTE - 1, 30)
        assert crashed.status_code == 500
        assert rate_headers(crashed) == (PER_MINUTE, PER_MINUTE - 2, 30)

    async def test_remaining_counts_down_with_each_request(self, limited, tenant):
        remaining = []
        for _ in range(3):
            response = await limited.get(MISSING, headers=tenant.headers)
            remaining.append(rate_headers(response)[1])

        assert remaining == [PER_MINUTE - 1, PER_MINUTE - 2, PER_MINUTE - 3]

    async def test_the_window_closest_to_exhaustion_is_reported(self, limited, clock, tenant):
        await spend(limited, tenant, PER_MINUTE)
        clock.advance(30)  # a new minute; the hour has PER_HOUR - PER_MINUTE left

        response = await limited.get(MISSING, headers=tenant.headers)

        # the minute has 4 left, the hour 2: the hour is reported, resetting in 59.5 minutes
        assert rate_headers(response) == (PER_HOUR, PER_HOUR - PER_MINUTE - 1, 3600 - 60)

    async def test_a_request_without_a_valid_token_has_no_tenant_to_report(self, limited):
        response = await limited.get(MISSING, headers={"Authorization": "Bearer nope"})

        assert response.status_code == 401
        assert "ratelimit-limit" not in response.headers


class TestRequestQuota:
    async def test_the_request_past_the_quota_is_a_429_with_retry_after(self, limited, tenant):
        await spend(limited, tenant, PER_MINUTE)

        response = await limited.get(MISSING, headers=tenant.headers)

        body = assert_zuora_error(response, 429, Category.LIMIT_EXCEEDED)
        assert str(PER_MINUTE) in body["reasons"][0]["message"]
        assert response.headers["retry-after"] == "30"
        assert rate_headers(response) == (PER_MINUTE, 0, 30)

    async def test_a_refused_request_changes_nothing(self, limited, database, tenant):
        await spend(limited, tenant, PER_MINUTE)

        response = await limited.post("/v1/accounts", json=account_body(), headers=tenant.headers)

        assert response.status_code == 429
        assert await accounts_of(database, tenant) == 0

    async def test_crud_paths_answer_in_the_crud_envelope(self, limited, tenant):
        await spend(limited, tenant, PER_MINUTE)

        response = await limited.get(
            f"/v1/object/account/{uuid.uuid4().hex}", headers=tenant.headers
        )

        assert response.status_code == 429
        body = response.json()
        assert body["Success"] is False
        assert [error["Code"] for error in body["Errors"]] == ["REQUEST_EXCEEDED_RATE"]
        assert response.headers["retry-after"] == "30"

    async def test_the_tenant_is_served_again_when_the_minute_turns(self, limited, clock, tenant):
        await spend(limited, tenant, PER_MINUTE)
        refused = await limited.get(MISSING, headers=tenant.headers)
        clock.advance(int(refused.headers["retry-after"]))

        response = await limited.get(MISSING, headers=tenant.headers)

        assert response.status_code == 404
        assert rate_headers(response) == (PER_HOUR, PER_HOUR - PER_MINUTE - 1, 3600 - 60)

    async def test_refused_requests_do_not_use_up_the_next_window(self, limited, clock, tenant):
        await spend(limited, tenant, PER_MINUTE)
        for _ in range(3):
            assert (await limited.get(MISSING, headers=tenant.headers)).status_code == 429
        clock.advance(30)

        await spend(limited, tenant, PER_HOUR - PER_MINUTE)  # the hour's remainder is all there

    async def test_an_exhausted_hour_waits_for_the_hour_to_end(self, limited, clock, tenant):
        await spend(limited, tenant, PER_MINUTE)
        clock.advance(30)
        await spend(limited, tenant, PER_HOUR - PER_MINUTE)

        response = await limited.get(MISSING, headers=tenant.headers)

        assert_zuora_error(response, 429, Category.LIMIT_EXCEEDED)
        assert response.headers["retry-after"] == str(3600 - 60)
        assert rate_headers(response) == (PER_HOUR, 0, 3600 - 60)

    async def test_tenants_have_their_own_quota(self, limited, tenant, other_tenant):
        await spend(limited, tenant, PER_MINUTE)

        response = await limited.get(MISSING, headers=other_tenant.headers)

        assert response.status_code == 404
        assert rate_headers(response) == (PER_MINUTE, PER_MINUTE - 1, 30)

    async def test_idempotent_replays_count_too(self, limited, tenant):
        headers = {**tenant.headers, "Idempotency-Key": uuid.uuid4().hex}
        first = await limited.post("/v1/accounts", json=account_body(), headers=headers)
        replay = await limited.post("/v1/accounts", json=account_body(), headers=headers)

        assert first.status_code == replay.status_code == 200
        assert replay.headers["idempotent-replayed"] == "true"
        assert rate_headers(replay)[1] == PER_MINUTE - 2


class TestConcurrency:
    async def test_answers_report_the_default_pool(self, limited, tenant):
        """Zuora's concurrent request limits guide: ``Concurrency-Limit-Type``, ``-Limit`` and
        ``-Remaining`` on every /v1 answer."""
        response = await limited.get(MISSING, headers=tenant.headers)

        assert response.headers["concurrency-limit-type"] == "Default"
        assert response.headers["concurrency-limit-limit"] == str(CONCURRENT)
        assert response.headers["concurrency-limit-remaining"] == str(CONCURRENT - 1)

    async def test_creating_an_account_is_a_high_volume_transaction(self, limited, tenant):
        response = await limited.post("/v1/accounts", json=account_body(), headers=tenant.headers)

        assert response.headers["concurrency-limit-type"] == "High-volume transactions"
        assert response.headers["concurrency-limit-limit"] == "200"
        assert response.headers["concurrency-limit-remaining"] == "199"

    async def test_high_volume_transactions_have_a_pool_of_their_own(self, limited, hold, tenant):
        held = await hold.occupy(limited, tenant)

        response = await limited.post("/v1/accounts", json=account_body(), headers=tenant.headers)

        await hold.release(held)
        assert response.status_code == 200, response.text

    async def test_a_refusal_reports_no_place_left(self, limited, hold, tenant):
        held = await hold.occupy(limited, tenant)

        refused = await limited.get(MISSING, headers=tenant.headers)

        await hold.release(held)
        assert refused.headers["concurrency-limit-remaining"] == "0"

    async def test_the_request_past_the_concurrency_limit_is_a_429(self, limited, hold, tenant):
        held = await hold.occupy(limited, tenant)

        refused = await limited.get(MISSING, headers=tenant.headers)

        assert await hold.release(held) == [200] * CONCURRENT
        assert_zuora_error(refused, 429, Category.LIMIT_EXCEEDED)
        assert refused.headers["retry-after"] == str(CONCURRENT_RETRY_AFTER)
        assert (await limited.get(MISSING, headers=tenant.headers)).status_code == 404

    async def test_crud_paths_name_the_concurrency_limit(self, limited, hold, tenant):
        held = await hold.occupy(limited, tenant)

        refused = await limited.get(
            f"/v1/object/account/{uuid.uuid4().hex}", headers=tenant.headers
        )

        await hold.release(held)
        assert refused.status_code == 429
        assert [e["Code"] for e in refused.json()["Errors"]] == ["REQUEST_EXCEEDED_LIMIT"]

    async def test_a_refusal_for_concurrency_uses_no_quota(self, limited, hold, tenant):
        held = await hold.occupy(limited, tenant)

        refused = await limited.get(MISSING, headers=tenant.headers)

        await hold.release(held)
        assert refused.status_code == 429
        assert rate_headers(refused) == (PER_MINUTE, PER_MINUTE - CONCURRENT, 30)

    async def test_other_tenants_are_not_held_up(self, limited, hold, tenant, other_tenant):
        held = await hold.occupy(limited, tenant)

        response = await limited.get(MISSING, headers=other_tenant.headers)

        await hold.release(held)
        assert response.status_code == 404

    @pytest.mark.parametrize("path", [FAILING, MISSING], ids=["crash", "zuora error"])
    async def test_a_failed_request_frees_its_place(self, limited, hold, tenant, path):
        for _ in range(CONCURRENT + 1):
            assert (await limited.get(path, headers=tenant.headers)).status_code in (404, 500)

        held = await hold.occupy(limited, tenant)  # every place is free again

        assert await hold.release(held) == [200] * CONCURRENT

    async def test_an_abandoned_request_frees_its_place(self, limited, hold, tenant):
        [abandoned] = await hold.occupy(limited, tenant, 1)

        abandoned.cancel()  # the caller went away, or the worker's time limit struck
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        held = await hold.occupy(limited, tenant)

        assert await hold.release(held) == [200] * CONCURRENT


def accept(client: httpx.AsyncClient, tenant: TenantContext):
    return client.post("/v1/async/accounts", json=account_body(), headers=tenant.headers)


class TestAsyncAccepts:
    async def test_accepts_go_on_when_the_request_quota_is_spent(self, limited, database, tenant):
        await spend(limited, tenant, PER_MINUTE)

        response = await accept(limited, tenant)

        assert response.status_code == 202, response.text
        assert await async_requests_of(database, tenant) == 1

    async def test_accepts_use_none_of_the_request_quota(self, limited, tenant):
        for _ in range(ACCEPTS_PER_MINUTE):
            assert (await accept(limited, tenant)).status_code == 202

        response = await limited.get(MISSING, headers=tenant.headers)

        assert rate_headers(response) == (PER_MINUTE, PER_MINUTE - 1, 30)

    async def test_accepts_report_their_own_quota(self, limited, tenant):
        response = await accept(limited, tenant)

        assert rate_headers(response) == (ACCEPTS_PER_MINUTE, ACCEPTS_PER_MINUTE - 1, 30)

    async def test_the_accept_past_its_quota_is_a_429_and_stores_nothing(
        self, limited, database, tenant
    ):
        for _ in range(ACCEPTS_PER_MINUTE):
            assert (await accept(limited, tenant)).status_code == 202

        response = await accept(limited, tenant)

        assert_zuora_error(response, 429, Category.LIMIT_EXCEEDED)
        assert response.headers["retry-after"] == "30"
        assert "location" not in response.headers
        assert await async_requests_of(database, tenant) == ACCEPTS_PER_MINUTE

    async def test_accepting_resumes_in_the_next_minute(self, limited, clock, tenant, other_tenant):
        for _ in range(ACCEPTS_PER_MINUTE):
            await accept(limited, tenant)
        assert (await accept(limited, tenant)).status_code == 429
        assert (await accept(limited, other_tenant)).status_code == 202

        clock.advance(30)

        assert (await accept(limited, tenant)).status_code == 202


def token_form(client_id: str, secret: str = "wrong") -> dict[str, str]:
    return {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}


class TestTokenEndpoint:
    async def test_one_address_gets_its_quota_of_attempts(self, limited_app, clock):
        async with client_on(limited_app, "10.0.0.1") as client:
            for _ in range(TOKENS_PER_IP):
                answer = await client.post(TOKEN, data=token_form(str(uuid.uuid4())))
                assert answer.status_code == 401
            response = await client.post(TOKEN, data=token_form(str(uuid.uuid4())))

        assert_zuora_error(response, 429, Category.LIMIT_EXCEEDED)
        assert response.headers["retry-after"] == "30"
        assert rate_headers(response) == (TOKENS_PER_IP, 0, 30)

    async def test_other_addresses_are_not_refused(self, limited_app, clock, tenant):
        async with client_on(limited_app, "10.0.0.1") as client:
            for _ in range(TOKENS_PER_IP):
                await client.post(TOKEN, data=token_form(str(uuid.uuid4())))
        async with client_on(limited_app, "10.0.0.2") as client:
            response = await client.post(
                TOKEN, data=token_form(tenant.client_id, tenant.client_secret)
            )

        assert response.status_code == 200, response.text

    async def test_one_client_gets_its_quota_from_any_address(self, limited_app, clock, tenant):
        for index in range(TOKENS_PER_CLIENT):
            async with client_on(limited_app, f"10.0.1.{index}") as client:
                answer = await client.post(
                    TOKEN, data=token_form(tenant.client_id, tenant.client_secret)
                )
                assert answer.status_code == 200, answer.text
        async with client_on(limited_app, "10.0.1.99") as client:
            refused = await client.post(
                TOKEN, data=token_form(tenant.client_id, tenant.client_secret)
            )
            other_client = await client.post(TOKEN, data=token_form(str(uuid.uuid4())))

        assert_zuora_error(refused, 429, Category.LIMIT_EXCEEDED)
        assert "access_token" not in refused.json()
        assert other_client.status_code == 401

    async def test_tokens_are_issued_again_in_the_next_minute(self, limited_app, clock, tenant):
        async with client_on(limited_app, "10.0.2.1") as client:
            for _ in range(TOKENS_PER_IP):
                await client.post(TOKEN, data=token_form(str(uuid.uuid4())))
            assert (await client.post(TOKEN, data=token_form(tenant.client_id))).status_code == 429
            clock.advance(30)

            response = await client.post(
                TOKEN, data=token_form(tenant.client_id, tenant.client_secret)
            )

        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
async def worker_database(fresh_database_url, tmp_path_factory) -> AsyncIterator[Database]:
    # Its own database: the worker claims every due request, and must see only this test's.
    settings = Settings(
        database_url=fresh_database_url("ratelimit_worker"),
        data_dir=Path(tmp_path_factory.mktemp("ratelimit_worker")),
        _env_file=None,
    )
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


class TestWorkerWaitsOutTheLimit:
    """An async request executed when the tenant's quota is spent goes back to the queue with
    its attempt given back, and runs once the window allows."""

    async def test_a_limited_execution_waits_and_then_succeeds(self, worker_database):
        app = create_app(
            limited_settings(worker_database.settings, tenant_requests_per_hour=0),
            worker_database,
        )
        clock = ManualClock(START)
        app.state.rate_limits = RateLimits(app.state.settings, app.state.database, clock=clock)
        tenant = await make_tenant(worker_database)
        worker = Worker(app, worker_database, WorkerConfig())
        async with client_on(app) as client:
            accepted = await accept(client, tenant)
            assert accepted.status_code == 202, accepted.text
            request_id = accepted.json()["requestId"]
            await spend(client, tenant, PER_MINUTE)

            started = utcnow()
            assert await worker.run_once() == 1
            waiting = await find_request(worker_database, tenant.tenant_id, request_id)

            assert waiting.state == State.QUEUED
            assert waiting.attempts == 0
            assert waiting.completed_at is None
            expected = started + timedelta(seconds=30)
            assert abs((waiting.run_after - expected).total_seconds()) < 2
            assert "limit" in waiting.last_error
            assert await accounts_of(worker_database, tenant) == 0

            # The minute turns and the request is due: it runs, as its first attempt.
            clock.advance(30)
            await self._make_due(worker_database, request_id)
            assert await worker.run_once() == 1
            done = await find_request(worker_database, tenant.tenant_id, request_id)

        assert done.state == State.SUCCEEDED
        assert done.attempts == 1
        assert done.response_status == 200
        assert await accounts_of(worker_database, tenant) == 1

    @staticmethod
    async def _make_due(database: Database, request_id: str) -> None:
        async with database.transaction() as session:
            request = await session.get(AsyncRequest, request_id)
            request.run_after = utcnow()


class TestCounterMemory:
    def test_forgetting_old_callers_keeps_the_counts_of_current_ones(self):
        clock = ManualClock(START)
        counter = QuotaCounter([Quota(2, 60)], clock)
        for index in range(SWEEP_MIN_KEYS + 100):  # last minute's callers
            counter.check(f"old-{index}")
        clock.advance(60)
        for _ in range(2):
            assert not counter.check("current").refused
            counter.count("current")

        for index in range(SWEEP_MIN_KEYS):  # enough new callers to make it sweep
            counter.check(f"new-{index}")

        assert counter.check("current").refused
