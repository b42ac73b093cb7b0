"""Users in the console: a Tenant administrator's page only; creating a user, changing a role,
disabling and enabling, and the tenant always keeps an active Tenant administrator."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from asyncgate.auth import secrets
from asyncgate.auth.models import User
from asyncgate.auth.roles import Role
from tests.console.support import csrf_token, sign_in, submit
from tests.factories import make_user

USERS = "/console/users"


async def stored_user(database, user_id: str) -> User:
    async with database.read_transaction() as session:
        return await session.get(User, user_id)


async def test_the_list_shows_the_tenants_users_only(
    as_tenant_admin, tenant_admin, admin, database, other_tenant
):
    stranger = await make_user(database, other_tenant)
    listed = await as_tenant_admin.get(USERS)
    assert listed.status_code == 200
    assert tenant_admin.email in listed.text and admin.email in listed.text
    assert stranger.email not in listed.text


@pytest.mark.parametrize(
    "role", [role for role in Role if role != Role.TENANT_ADMINISTRATOR], ids=str
)
async def test_every_other_role_is_refused(console, database, tenant, role):
    user = await make_user(database, tenant, role=role)
    await sign_in(console, user)
    assert (await console.get(USERS)).status_code == 403
    front = await console.get("/console")
    answer = await console.post(
        USERS,
        data={"csrf_token": csrf_token(front), "email": "x@example.com", "role": "Standard user"},
    )
    assert answer.status_code == 403
    assert 'href="/console/users"' not in front.text


async def test_a_created_user_signs_in_with_the_hashed_password(
    as_tenant_admin, console, database, tenant
):
    answer = await submit(
        as_tenant_admin,
        USERS,
        USERS,
        email="New.Operator@example.com",
        password="initial-password",
        role="Payments administrator",
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{USERS}?notice=user-created"
    async with database.read_transaction() as session:
        made = await session.scalar(select(User).where(User.email == "new.operator@example.com"))
    assert made.tenant_id == tenant.tenant_id and made.role == "Payments administrator"
    assert made.password_hash.startswith("$argon2id$")
    assert await secrets.verify_password(made.password_hash, "initial-password")


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"email": "not-an-email", "password": "long-enough"}, "email", "is not an email"),
        ({"email": "short@example.com", "password": "short"}, "password", "at least 8"),
    ],
)
async def test_a_refused_user_shows_beside_the_field(as_tenant_admin, fields, field, text):
    answer = await submit(as_tenant_admin, USERS, USERS, role="Standard user", **fields)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text and text in answer.text


async def test_a_changed_role_applies_at_the_next_request(as_tenant_admin, standard_user, database):
    answer = await submit(
        as_tenant_admin,
        USERS,
        f"{USERS}/{standard_user.user_id}/role",
        role="Billing administrator",
    )
    assert answer.status_code == 303
    assert (await stored_user(database, standard_user.user_id)).role == "Billing administrator"


async def test_a_disabled_users_sessions_stop_at_once(
    as_tenant_admin, app, database, standard_user
):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://asyncgate.test") as other:
        assert (await sign_in(other, standard_user)).status_code == 303
        assert (await other.get("/console/requests")).status_code == 200
        answer = await submit(
            as_tenant_admin, USERS, f"{USERS}/{standard_user.user_id}/active", active="false"
        )
        assert answer.status_code == 303
        shut_out = await other.get("/console/requests")
        assert shut_out.status_code == 303
        assert shut_out.headers["location"].startswith("/console/sign-in")
        assert (await sign_in(other, standard_user)).status_code == 401
        await submit(
            as_tenant_admin, USERS, f"{USERS}/{standard_user.user_id}/active", active="true"
        )
        assert (await sign_in(other, standard_user)).status_code == 303


async def test_the_last_tenant_administrator_cannot_disable_or_demote_themselves(
    as_tenant_admin, tenant_admin, database
):
    own = f"{USERS}/{tenant_admin.user_id}"
    for action, fields in (
        (f"{own}/active", {"active": "false"}),
        (f"{own}/role", {"role": "Standard user"}),
    ):
        answer = await submit(as_tenant_admin, USERS, action, **fields)
        assert answer.status_code == 409
        assert "last active Tenant administrator" in answer.text
    stored = await stored_user(database, tenant_admin.user_id)
    assert stored.active and stored.role == Role.TENANT_ADMINISTRATOR


async def test_with_another_tenant_administrator_one_may_step_down(
    as_tenant_admin, tenant_admin, database, tenant
):
    await make_user(database, tenant, role=Role.TENANT_ADMINISTRATOR)
    answer = await submit(
        as_tenant_admin, USERS, f"{USERS}/{tenant_admin.user_id}/role", role="Standard user"
    )
    assert answer.status_code == 303
    assert (await as_tenant_admin.get(USERS)).status_code == 403


async def test_another_tenants_user_is_not_found(as_tenant_admin, database, other_tenant):
    stranger = await make_user(database, other_tenant)
    answer = await submit(
        as_tenant_admin, USERS, f"{USERS}/{stranger.user_id}/active", active="false"
    )
    assert answer.status_code == 404
    assert (await stored_user(database, stranger.user_id)).active
