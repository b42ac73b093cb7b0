"""Accepting ``/v1/async/...`` requests: which twins exist, what is refused (storing nothing),
the 202 answer, idempotency keys, and group commit under concurrency."""

from __future__ import annotations

import asyncio
import gzip
import uuid

import httpx
import orjson
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import delete, func, select

from asyncgate.app import create_app, v1_router
from asyncgate.asyncreq.models import State
from asyncgate.asyncreq.worker import Worker, WorkerConfig
from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.auth.models import Tenant
from asyncgate.billing.accounts.models import Account
from asyncgate.db.sequences import next_value
from asyncgate.http.routing import Session, UnitOfWorkRoute
from tests.asyncreq.support import ASYNC_TRIALS, accept, stored, stored_count, trial
from tests.billing.api import account_body
from tests.conftest import BACKEND
from tests.factories import make_tenant
from tests.http.assertions import assert_zuora_error
from tests.http.endpoints import api_endpoints
from tests.http.probe import tally_of

ASYNC_METHODS = {"POST", "PUT", "DELETE"}
NOT_ASYNC = ("/v1/action/", "/v1/async/", "/v1/async-requests", "/v1/async-jobs")
SOME_ID = "0123456789abcdef0123456789abcdef"
JSON = "application/json"


def async_twins(app: FastAPI) -> list[tuple[str, str]]:
    """Every POST/PUT/DELETE ``/v1`` route of the app but Actions and the async machinery,
    as (method, path with its parameters filled)."""
    return [
        (endpoint.method, endpoint.example_path)
        for endpoint in api_endpoints(app)
        if endpoint.method in ASYNC_METHODS
        and endpoint.path.startswith("/v1/")
        and not endpoint.path.startswith(NOT_ASYNC)
    ]


def as_async(path: str) -> str:
    return "/v1/async/" + path.removeprefix("/v1/")


class TestEveryWritingRouteHasAnAsyncTwin:
    async def test_every_post_put_and_delete_route_is_accepted_asynchronously(
        self, app, client, tenant, database
    ):
        twins = async_twins(app)
        assert {("POST", "/v1/accounts"), ("POST", "/v1/object/" + SOME_ID)} <= set(twins)

        refused = []
        for method, path in twins:
            body = None if method == "DELETE" else {}
            response = await client.request(
                method, as_async(path), json=body, headers=tenant.headers
            )
            answer = response.json()
            if response.status_code not in (200, 202) or not answer.get("success", True):
                refused.append(f"{method} {path}: {response.status_code} {response.text}")
                continue
            # Routes Zuora runs as jobs answer with a job ID (see test_jobs).
            request_id = answer.get("requestId") or answer["jobId"]
            request = await stored(database, request_id, tenant)
            assert (request.method, request.path, request.state) == (method, path, State.QUEUED)
        assert refused == []
        assert await stored_count(database) == len(twins)

    async def test_a_route_registered_later_gets_a_working_twin(self, settings, database, tenant):
        gadgets = APIRouter(route_class=UnitOfWorkRoute)

        @gadgets.post("/gadgets")
        async def make_gadget(session: Session, principal: CurrentPrincipal) -> dict:
            await next_value(session, principal.tenant_id, "gadgets")
            return {"success": True}

        without = create_app(settings, database)
        with_gadgets = create_app(settings, database)
        with_gadgets.include_router(v1_router(gadgets))

        async with _client(without) as client:
            response = await client.post("/v1/async/gadgets", json={}, headers=tenant.headers)
            assert_zuora_error(response, 404, 40)
        async with _client(with_gadgets) as client:
            request_id = await accept(client, tenant, "/v1/async/gadgets", {})
        await Worker(with_gadgets, database, WorkerConfig()).run_once()

        assert (await stored(database, request_id)).state == State.SUCCEEDED
        assert await tally_of(database, tenant.tenant_id, "gadgets") == 1


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


class TestRefusedRequestsStoreNothing:
    @pytest.mark.parametrize(
        ("method", "path", "status", "category"),
        [
            ("POST", "/v1/async/action/query", 404, 40),
            ("POST", "/v1/async/action/create", 404, 40),
            ("DELETE", f"/v1/async/async-requests/{uuid.uuid4()}", 404, 40),
            ("POST", "/v1/async/async/accounts", 404, 40),
            ("POST", "/v1/async/no-such-things", 404, 40),
            ("POST", f"/v1/async/accounts/{SOME_ID}", 405, 45),
            ("GET", "/v1/async/accounts", 405, 45),
        ],
        ids=[
            "action-query",
            "action-create",
            "status-resource",
            "async-of-async",
            "unknown",
            "method-the-target-lacks",
            "get",
        ],
    )
    async def test_targets_without_an_async_twin(
        self, client, tenant, database, method, path, status, category
    ):
        body = None if method in ("GET", "DELETE") else {"queryString": "select Id from Account"}
        response = await client.request(method, path, json=body, headers=tenant.headers)
        assert_zuora_error(response, status, category)
        assert await stored_count(database) == 0

    @pytest.mark.parametrize(
        ("headers", "content", "status", "category"),
        [
            ({"Content-Type": "text/plain"}, b"{}", 415, 20),
            ({"Content-Type": "application/xml"}, b"<account/>", 415, 20),
            ({"Content-Type": "application/json"}, b'{"name": ', 400, 90),
            ({"Content-Type": "application/json"}, b"", 400, 90),
            ({"Content-Type": "application/json", "Zuora-Track-Id": "a:b"}, b"{}", 400, 20),
            ({"Content-Type": "application/json", "Idempotency-Key": "k" * 256}, b"{}", 400, 20),
        ],
        ids=["text", "xml", "malformed-json", "empty-body", "bad-track-id", "long-key"],
    )
    async def test_envelopes_the_api_refuses(
        self, client, tenant, database, headers, content, status, category
    ):
        response = await client.post(
            "/v1/async/accounts", content=content, headers={**tenant.headers, **headers}
        )
        assert_zuora_error(response, status, category)
        assert await stored_count(database) == 0

    @pytest.mark.parametrize(
        ("content_type", "content", "status", "category"),
        [
            (JSON, b"[" * 65 + b"]" * 65, 400, 90),
            (JSON, b"[" * 990 + b"]" * 990, 400, 90),
            (JSON, b"[" * 5000 + b"]" * 5000, 400, 90),
            (JSON, b'{"name": ' + b"9" * 5000 + b"}", 400, 90),
            (JSON, b'{"name": ' + b"9" * 400 + b"}", 400, 90),
            (JSON, b'{"name": 1e400}', 400, 90),
            (JSON, b'{"name": NaN}', 400, 90),
            (JSON, b'{"name": "\\ud800"}', 400, 90),
            (JSON, '{"name": "Zoë"}'.encode("latin-1"), 400, 90),
            (JSON, b'\xef\xbb\xbf{"name": "A"}', 400, 90),
            (JSON + "; charset=latin-1", b'{"name": "A"}', 415, 20),
            (JSON + "; charset=utf-16", '{"name": "A"}'.encode("utf-16"), 415, 20),
        ],
        ids=[
            "nested-65",
            "nested-990",
            "nested-5000",
            "integer-of-5000-digits",
            "integer-of-400-digits",
            "number-past-a-double",
            "nan",
            "lone-surrogate",
            "latin-1-bytes",
            "byte-order-mark",
            "latin-1-charset",
            "utf-16-charset",
        ],
    )
    async def test_a_body_the_synchronous_route_cannot_read_is_refused_alike(
        self, client, tenant, database, content_type, content, status, category
    ):
        """The async twin refuses at once, storing nothing, what its synchronous route would
        refuse when the request ran: never a 202 followed by retries."""
        headers = {**tenant.headers, "Content-Type": content_type}
        synchronous = await client.post("/v1/accounts", content=content, headers=headers)
        asynchronous = await client.post("/v1/async/accounts", content=content, headers=headers)

        assert_zuora_error(synchronous, status, category)
        assert_zuora_error(asynchronous, status, category)
        assert (
            synchronous.json()["reasons"][0]["message"]
            == (asynchronous.json()["reasons"][0]["message"])
        )
        assert await stored_count(database) == 0
        async with database.transaction() as session:
            accounts = await session.scalar(
                select(func.count()).where(Account.tenant_id == tenant.tenant_id)
            )
        assert accounts == 0

    @pytest.mark.parametrize("path", ["/v1/accounts", "/v1/async/accounts"])
    async def test_text_holding_nul_is_an_invalid_value_storing_nothing(
        self, client, tenant, database, path
    ):
        """PostgreSQL cannot store NUL in text: it is refused on every backend alike."""
        body = orjson.dumps(account_body() | {"name": "Acme\x00Corp"})
        headers = {**tenant.headers, "Content-Type": JSON}

        response = await client.post(path, content=body, headers=headers)

        assert_zuora_error(response, 400, 20)
        assert await stored_count(database) == 0

    async def test_an_escaped_backslash_before_u0000_is_no_nul(self, client, tenant):
        body = orjson.dumps(account_body() | {"notes": "C:\\u0000"})
        headers = {**tenant.headers, "Content-Type": JSON}

        response = await client.post("/v1/async/accounts", content=body, headers=headers)

        assert response.status_code == 202

    @pytest.mark.parametrize("url", ["/v1/accounts/A%00", "/v1/catalog/products?page=1%00"])
    async def test_nul_in_the_url_is_an_invalid_value(self, client, tenant, url):
        assert_zuora_error(await client.get(url, headers=tenant.headers), 400, 20)

    async def test_a_body_nested_64_deep_is_read(self, client, tenant, database):
        nested: object = "deep"
        for _ in range(62):
            nested = [nested]
        body = orjson.dumps(account_body() | {"notes": nested})  # 64 levels with the body's own

        headers = {**tenant.headers, "Content-Type": JSON}
        response = await client.post("/v1/async/accounts", content=body, headers=headers)

        assert response.status_code == 202  # read; the route judges the field when it runs

    @pytest.mark.parametrize(
        "authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"], ids=str
    )
    async def test_callers_without_a_valid_token(self, client, database, authorization):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = await client.post("/v1/async/accounts", json=account_body(), headers=headers)
        assert_zuora_error(response, 401, 11)
        assert await stored_count(database) == 0

    async def test_an_overlong_query_string(self, client, tenant, database):
        response = await client.post(
            f"{ASYNC_TRIALS}?note={'x' * 2100}", json=trial(), headers=tenant.headers
        )
        assert_zuora_error(response, 400, 20)
        assert await stored_count(database) == 0


class TestTheAcceptedAnswer:
    async def test_202_with_only_the_request_id_and_where_to_poll(self, client, tenant, database):
        response = await client.post(
            "/v1/async/accounts",
            json=account_body(),
            headers={**tenant.headers, "Zuora-Track-Id": "order-42"},
        )
        assert response.status_code == 202, response.text
        assert response.json().keys() == {"requestId"}
        request_id = response.json()["requestId"]
        assert str(uuid.UUID(request_id)) == request_id
        assert response.headers["location"] == f"/v1/async-requests/{request_id}"
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["zuora-track-id"] == "order-42"

    async def test_what_is_stored_is_what_was_sent(self, client, tenant, database):
        body = account_body(name="Stored As Sent")
        request_id = await accept(
            client,
            tenant,
            "/v1/async/accounts?x=1",
            body,
            headers={"Zuora-Track-Id": "t-1", "Zuora-Version": "211.0"},
        )
        request = await stored(database, request_id)
        assert request.tenant_id == tenant.tenant_id
        assert (request.method, request.path, request.query_string) == (
            "POST",
            "/v1/accounts",
            "x=1",
        )
        assert httpx.Request("POST", "/", json=body).content == request.body
        assert request.track_id == "t-1"
        assert request.headers["zuora-version"] == "211.0"
        assert "authorization" not in request.headers
        assert (request.state, request.attempts) == (State.QUEUED, 0)

    async def test_a_gzip_body_is_stored_inflated(self, client, tenant, database):
        body = orjson.dumps(trial())
        response = await client.post(
            ASYNC_TRIALS,
            content=gzip.compress(body),
            headers={
                **tenant.headers,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        )
        assert response.status_code == 202, response.text
        assert (await stored(database, response.json()["requestId"], tenant)).body == body

    async def test_a_delete_needs_no_body(self, client, tenant, database):
        request_id = await accept(client, tenant, f"/v1/async/accounts/{SOME_ID}", method="DELETE")
        assert (await stored(database, request_id)).body == b""


class TestIdempotencyKeys:
    async def test_a_repeat_gets_the_same_request_and_stores_nothing_new(
        self, client, tenant, database
    ):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = trial()
        first = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
        again = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
        assert first == again
        assert await stored_count(database) == 1

    async def test_concurrent_repeats_share_one_request(self, client, tenant, database):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = trial()
        ids = await asyncio.gather(
            *(accept(client, tenant, ASYNC_TRIALS, body, headers=key) for _ in range(10))
        )
        assert len(set(ids)) == 1
        assert await stored_count(database) == 1

    async def test_repeats_and_misuses_stored_with_new_requests_are_each_answered_as_alone(
        self, client, tenant, database
    ):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = trial()
        first = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
        sent = [
            request
            for _ in range(8)
            for request in (("repeat", body, key), ("new", trial(), {}), ("misuse", trial(), key))
        ]
        responses = await asyncio.gather(
            *(
                client.post(ASYNC_TRIALS, json=json, headers={**tenant.headers, **headers})
                for _, json, headers in sent
            )
        )

        answers = [(kind, response) for (kind, _, _), response in zip(sent, responses, strict=True)]
        assert {r.json()["requestId"] for kind, r in answers if kind == "repeat"} == {first}
        new_ids = {r.json()["requestId"] for kind, r in answers if kind == "new"}
        assert len(new_ids) == 8 and first not in new_ids
        for kind, response in answers:
            if kind == "misuse":
                assert_zuora_error(response, 422, 30)
        assert await stored_count(database) == 1 + 8

    async def test_tenants_keys_are_their_own(self, client, tenant, other_tenant, database):
        key = {"Idempotency-Key": "shared-key"}
        body = trial()
        mine = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
        theirs = await accept(client, other_tenant, ASYNC_TRIALS, body, headers=key)
        assert mine != theirs
        assert (await stored(database, theirs)).tenant_id == other_tenant.tenant_id
        assert await stored_count(database) == 2

    async def test_a_key_reused_for_a_different_request_is_refused(self, client, tenant, database):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        await accept(client, tenant, ASYNC_TRIALS, trial(), headers=key)
        response = await client.post(ASYNC_TRIALS, json=trial(), headers={**tenant.headers, **key})
        assert_zuora_error(response, 422, 30)
        assert await stored_count(database) == 1


class TestConcurrentAccepts:
    async def test_a_burst_is_stored_whole(self, client, tenant, database):
        # How accepts share commits: tests/db/test_group_commit.py.
        await accept(client, tenant, ASYNC_TRIALS, trial())  # the token is now cached
        ids = await asyncio.gather(
            *(accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(50))
        )

        assert len(set(ids)) == 50
        for request_id in ids:
            assert (await stored(database, request_id)).state == State.QUEUED
        assert await stored_count(database) == 51

    @pytest.mark.skipif(
        BACKEND == "sqlite",
        reason="SQLite's inbox has no foreign keys (see queue/test_sqlite_inbox)",
    )
    async def test_a_request_the_database_refuses_fails_alone(self, client, tenant, database):
        # A tenant removed while its token is still cached: its row breaks the foreign key.
        doomed = await make_tenant(database)
        await accept(client, doomed, ASYNC_TRIALS, trial())
        async with database.transaction() as session:
            await session.execute(delete(Tenant).where(Tenant.id == doomed.tenant_id))

        callers = [tenant] * 10 + [doomed] + [tenant] * 10
        responses = await asyncio.gather(
            *(client.post(ASYNC_TRIALS, json=trial(), headers=caller.headers) for caller in callers)
        )
        statuses = [response.status_code for response in responses]
        assert statuses == [202] * 10 + [500] + [202] * 10
        assert await stored_count(database) == 20
