"""Every ``/v1`` endpoint needs a valid bearer token of the caller's own tenant."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from asyncgate.auth import service
from asyncgate.http.errors import Category
from tests.factories import make_tenant
from tests.http.assertions import assert_action_fault, assert_request_id, assert_zuora_error
from tests.http.endpoints import api_endpoints
from tests.http.probe import TALLIES, build_probe_app, tally_of
from tests.support.clock import ManualClock


def assert_unauthenticated(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = assert_zuora_error(response, 401, Category.AUTHENTICATION_FAILED)
    assert body["message"]  # Zuora's gateway (and the SDK) read a top-level message on 401s


class TestEveryEndpoint:
    async def test_every_api_endpoint_refuses_a_request_without_a_token(self, probe, probe_app):
        answered = {}
        for endpoint in api_endpoints(probe_app):
            response = await probe.request(
                endpoint.method,
                endpoint.example_path,
                json={} if endpoint.method in ("POST", "PUT", "PATCH") else None,
            )
            answered[str(endpoint)] = (
                response.status_code,
                response.headers.get("www-authenticate"),
            )
            assert_request_id(response)

        assert {e: a for e, a in answered.items() if a != (401, "Bearer")} == {}

    async def test_action_endpoints_refuse_with_a_fault_and_a_message(self, probe):
        response = await probe.post(
            "/v1/action/query", json={"queryString": "select Id from Account"}
        )

        code, _ = assert_action_fault(response, 401)
        assert code == "INVALID_SESSION"
        assert response.json()["message"]

    async def test_crud_object_endpoints_refuse_in_the_crud_envelope_with_a_message(self, probe):
        response = await probe.get("/v1/object/account/" + "0" * 32)

        assert response.status_code == 401
        body = response.json()
        assert body["Success"] is False
        assert body["Errors"][0]["Code"] == "INVALID_SESSION"
        assert body["message"]


class TestCredentials:
    @pytest.mark.parametrize(
        "authorization",
        [
            pytest.param(None, id="no header"),
            pytest.param("", id="empty header"),
            pytest.param("Basic dXNlcjpwYXNz", id="basic scheme"),
            pytest.param("Token abc", id="other scheme"),
            pytest.param("Bearer", id="scheme without token"),
            pytest.param("Bearer    ", id="blank token"),
            pytest.param("Bearer 0123456789abcdef0123456789abcdef", id="unknown token"),
        ],
    )
    async def test_a_request_without_valid_credentials_is_refused_and_does_nothing(
        self, probe, tenant, database, authorization
    ):
        counter = uuid.uuid4().hex
        headers = {} if authorization is None else {"Authorization": authorization}

        response = await probe.post(TALLIES, json={"counter": counter}, headers=headers)

        assert_unauthenticated(response)
        assert await tally_of(database, tenant.tenant_id, counter) == 0

    async def test_an_expired_token_is_refused(self, probe, database):
        expired = await make_tenant(database, token_lifetime=timedelta(seconds=-1))

        response = await probe.post(TALLIES, json={"counter": "c"}, headers=expired.headers)

        assert_unauthenticated(response)
        assert await tally_of(database, expired.tenant_id, "c") == 0

    async def test_a_token_stops_working_when_it_expires_even_if_recently_used(
        self, settings, database
    ):
        short_lived = await make_tenant(database, token_lifetime=timedelta(seconds=10))
        clock = ManualClock()  # not before the token was issued
        transport = httpx.ASGITransport(app=build_probe_app(settings, database, clock))
        async with httpx.AsyncClient(transport=transport, base_url="http://probe.test") as probe:

            async def padding() -> httpx.Response:
                return await probe.get("/v1/probe/padding?size=1", headers=short_lived.headers)

            assert (await padding()).status_code == 200  # and its principal is cached
            clock.advance(9)
            assert (await padding()).status_code == 200

            clock.advance(1)

            assert_unauthenticated(await padding())

    async def test_the_token_of_a_revoked_client_is_refused(self, probe, database):
        revoked = await make_tenant(database)
        async with database.transaction() as session:
            await service.revoke_client(session, revoked.client_id)

        response = await probe.get("/v1/probe/padding?size=1", headers=revoked.headers)

        assert_unauthenticated(response)

    async def test_the_scheme_is_case_insensitive(self, probe, tenant):
        response = await probe.get(
            "/v1/probe/padding?size=1", headers={"Authorization": f"bearer {tenant.token}"}
        )

        assert response.status_code == 200


class TestTenantScopeHeaders:
    @pytest.mark.parametrize("header", ["Zuora-Entity-Ids", "Zuora-Org-Ids"])
    async def test_naming_the_own_tenant_is_accepted(self, probe, tenant, header):
        response = await probe.post(
            TALLIES,
            json={"counter": uuid.uuid4().hex},
            headers={**tenant.headers, header: tenant.tenant_id},
        )

        assert response.status_code == 200

    @pytest.mark.parametrize("header", ["Zuora-Entity-Ids", "Zuora-Org-Ids"])
    @pytest.mark.parametrize("naming", ["other", "own and other", "unknown"])
    async def test_naming_another_tenant_is_refused_and_does_nothing(
        self, probe, tenant, other_tenant, database, header, naming
    ):
        value = {
            "other": other_tenant.tenant_id,
            "own and other": f"{tenant.tenant_id},{other_tenant.tenant_id}",
            "unknown": uuid.uuid4().hex,
        }[naming]
        counter = uuid.uuid4().hex

        response = await probe.post(
            TALLIES, json={"counter": counter}, headers={**tenant.headers, header: value}
        )

        body = assert_zuora_error(response, 403, Category.PERMISSION_DENIED)
        assert header in body["reasons"][0]["message"]
        assert await tally_of(database, tenant.tenant_id, counter) == 0
        assert await tally_of(database, other_tenant.tenant_id, counter) == 0
