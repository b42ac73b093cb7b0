"""``POST /oauth/token``: Zuora's client-credentials grant, with secrets and tokens hashed."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
from sqlalchemy import select

from asyncgate.auth import service
from asyncgate.auth.models import AccessToken, OAuthClient, Tenant, User
from asyncgate.auth.roles import Role
from asyncgate.http.errors import Category
from tests.http.assertions import assert_zuora_error

TOKEN = "/oauth/token"


def credentials(tenant, **overrides: str) -> dict[str, str]:
    return {
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
        "grant_type": "client_credentials",
        **overrides,
    }


class TestIssuing:
    async def test_valid_credentials_get_a_token_in_zuoras_shape(self, probe, tenant):
        response = await probe.post(TOKEN, data=credentials(tenant))

        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "scope", "jti"}
        assert re.fullmatch(r"[0-9a-f]{32}", body["access_token"])
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 3599
        assert isinstance(body["scope"], str) and body["scope"]
        assert re.fullmatch(r"[0-9a-f]{32}", body["jti"])
        assert response.headers["cache-control"] == "no-store"

    async def test_the_token_works_on_the_api(self, probe, tenant):
        token = (await probe.post(TOKEN, data=credentials(tenant))).json()["access_token"]

        response = await probe.get(
            "/v1/probe/padding?size=1", headers={"Authorization": f"Bearer {token}"}
        )

        assert response.status_code == 200

    async def test_every_request_gets_a_new_token(self, probe, tenant):
        first = (await probe.post(TOKEN, data=credentials(tenant))).json()
        second = (await probe.post(TOKEN, data=credentials(tenant))).json()

        assert first["access_token"] != second["access_token"]
        assert first["jti"] != second["jti"]

    async def test_an_idempotency_key_on_the_token_endpoint_is_harmless(self, probe, tenant):
        response = await probe.post(
            TOKEN, data=credentials(tenant), headers={"Idempotency-Key": uuid.uuid4().hex}
        )

        assert response.status_code == 200


class TestRefusals:
    @pytest.mark.parametrize(
        "overrides",
        [
            pytest.param({"client_secret": "wrong"}, id="wrong secret"),
            pytest.param({"client_id": str(uuid.uuid4())}, id="unknown client"),
        ],
    )
    async def test_bad_credentials_are_a_401(self, probe, tenant, overrides):
        response = await probe.post(TOKEN, data=credentials(tenant, **overrides))

        body = assert_zuora_error(response, 401, Category.AUTHENTICATION_FAILED)
        assert "access_token" not in body

    async def test_a_revoked_client_gets_no_token(self, probe, tenant, database):
        async with database.transaction() as session:
            await service.revoke_client(session, tenant.client_id)

        response = await probe.post(TOKEN, data=credentials(tenant))

        assert_zuora_error(response, 401, Category.AUTHENTICATION_FAILED)

    @pytest.mark.parametrize("grant_type", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
    async def test_another_grant_type_is_a_400(self, probe, tenant, grant_type):
        response = await probe.post(TOKEN, data=credentials(tenant, grant_type=grant_type))

        body = assert_zuora_error(response, 400, Category.INVALID_VALUE)
        assert "grant_type" in body["reasons"][0]["message"]

    @pytest.mark.parametrize("field", ["client_id", "client_secret", "grant_type"])
    @pytest.mark.parametrize("value", [None, ""], ids=["absent", "empty"])
    async def test_a_missing_form_field_is_a_400(self, probe, tenant, field, value):
        form = credentials(tenant, **{field: value or ""})
        if value is None:
            del form[field]

        response = await probe.post(TOKEN, data=form)

        body = assert_zuora_error(response, 400, Category.MISSING_FIELD)
        assert field in body["reasons"][0]["message"]


class TestStoredSecrets:
    async def test_the_database_holds_no_plaintext_token(self, probe, tenant, database):
        token = (await probe.post(TOKEN, data=credentials(tenant))).json()["access_token"]

        async with database.transaction() as session:
            rows = (
                await session.execute(
                    select(AccessToken.__table__).where(AccessToken.tenant_id == tenant.tenant_id)
                )
            ).all()
        stored = [str(value) for row in rows for value in row]

        assert not any(token in value for value in stored)
        assert hashlib.sha256(token.encode()).hexdigest() in stored

    async def test_client_secrets_are_stored_as_argon2id_hashes(self, tenant, database):
        async with database.transaction() as session:
            owner = await session.get(Tenant, tenant.tenant_id)
            created, secret = await service.create_client(session, owner, name="hashed")
        async with database.transaction() as session:
            client = await session.scalar(
                select(OAuthClient).where(OAuthClient.client_id == created.client_id)
            )

        assert client.secret_hash.startswith("$argon2id$")
        assert secret not in client.secret_hash

    async def test_user_passwords_are_stored_as_argon2id_hashes(self, tenant, database):
        password = "correct horse battery staple"
        async with database.transaction() as session:
            owner = await session.get(Tenant, tenant.tenant_id)
            user = await service.create_user(
                session, owner, email="Ada@Example.com", password=password, role=Role.STANDARD_USER
            )
            stored = await session.get(User, user.id)

        assert stored.email == "ada@example.com"
        assert stored.password_hash.startswith("$argon2id$")
        assert password not in stored.password_hash
