"""API clients in the console: listed for the tenant, created with a secret shown once,
revoked; through the services of ``asyncgate clients``."""

from __future__ import annotations

import re

from sqlalchemy import select

from asyncgate.auth import service
from asyncgate.auth.models import OAuthClient
from tests.console.support import csrf_token, submit
from tests.notifications.api import DEFINITIONS

CLIENTS = "/console/clients"
NEW_SECRET = re.compile(r'id="new-client-secret">([^<]+)<')
NEW_ID = re.compile(r'id="new-client-id">([^<]+)<')


async def token_for(client, client_id: str, client_secret: str):
    return await client.post(
        "/oauth/token",
        data={
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "client_credentials",
        },
    )


async def test_the_list_shows_the_tenants_clients_only(as_admin, tenant, other_tenant):
    listed = await as_admin.get(CLIENTS)
    assert listed.status_code == 200
    assert tenant.client_id in listed.text
    assert other_tenant.client_id not in listed.text


async def test_a_created_clients_secret_is_shown_once_and_works(as_admin, client, database):
    answer = await submit(as_admin, CLIENTS, CLIENTS, name="billing sync", role="Standard user")
    assert answer.status_code == 200, answer.text
    client_id = NEW_ID.search(answer.text).group(1)
    secret = NEW_SECRET.search(answer.text).group(1)
    token = await token_for(client, client_id, secret)
    assert token.status_code == 200, token.text
    again = await as_admin.get(CLIENTS)
    assert client_id in again.text and secret not in again.text
    async with database.read_transaction() as session:
        stored = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    assert stored.role == "Standard user" and secret not in stored.secret_hash


async def test_a_blank_name_is_refused_beside_the_field(as_admin, tenant, database):
    answer = await submit(as_admin, CLIENTS, CLIENTS, name=" ", role="Standard user")
    assert answer.status_code == 400
    assert 'id="name-error"' in answer.text and "1 to 100 characters" in answer.text
    async with database.read_transaction() as session:
        assert len(await service.list_clients(session, tenant.tenant_id)) == 1


async def test_only_a_tenant_administrator_makes_a_tenant_administrator_client(
    as_admin, tenant, database
):
    answer = await submit(as_admin, CLIENTS, CLIENTS, name="root", role="Tenant administrator")
    assert answer.status_code == 403
    assert 'id="role-error"' in answer.text
    async with database.read_transaction() as session:
        assert len(await service.list_clients(session, tenant.tenant_id)) == 1


async def test_a_revoked_client_gets_no_token_and_its_tokens_end(as_admin, client, tenant):
    # Used before: the token is among those verified lately, which the API does not look up.
    assert (await client.get(DEFINITIONS, headers=tenant.headers)).status_code == 200
    answer = await submit(as_admin, CLIENTS, f"{CLIENTS}/{tenant.client_id}/revoke")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{CLIENTS}?notice=client-revoked"
    listed = await as_admin.get(answer.headers["location"])
    assert "The client was revoked" in listed.text and "Revoked" in listed.text
    refused = await token_for(client, tenant.client_id, tenant.client_secret)
    assert refused.status_code == 401
    assert (await client.get(DEFINITIONS, headers=tenant.headers)).status_code == 401


async def test_another_tenants_client_cannot_be_revoked(as_admin, client, other_tenant):
    answer = await submit(as_admin, CLIENTS, f"{CLIENTS}/{other_tenant.client_id}/revoke")
    assert answer.status_code == 404
    token = await token_for(client, other_tenant.client_id, other_tenant.client_secret)
    assert token.status_code == 200


async def test_a_standard_user_sees_the_list_and_changes_nothing(as_standard_user, client, tenant):
    listed = await as_standard_user.get(CLIENTS)
    assert listed.status_code == 200 and tenant.client_id in listed.text
    assert "Create client" not in listed.text and "Revoke" not in listed.text
    token = csrf_token(listed)
    for action, data in (
        (CLIENTS, {"name": "x", "role": "Standard user"}),
        (f"{CLIENTS}/{tenant.client_id}/revoke", {}),
    ):
        answer = await as_standard_user.post(action, data={"csrf_token": token, **data})
        assert answer.status_code == 403
    assert (await token_for(client, tenant.client_id, tenant.client_secret)).status_code == 200


async def test_a_form_without_its_token_is_refused(as_admin, client, tenant):
    answer = await as_admin.post(f"{CLIENTS}/{tenant.client_id}/revoke")
    assert answer.status_code == 403
    assert (await token_for(client, tenant.client_id, tenant.client_secret)).status_code == 200
