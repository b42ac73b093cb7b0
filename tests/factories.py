"""Plain factory functions for test data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from asyncgate.auth import service
from asyncgate.auth.models import AccessToken, OAuthClient, Tenant
from asyncgate.auth.roles import Role
from asyncgate.auth.secrets import (
    generate_client_secret,
    generate_token,
    hash_password,
    token_digest,
)
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database


@dataclass(frozen=True)
class TenantContext:
    tenant_id: str
    name: str
    client_id: str
    client_secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(
    database: Database,
    *,
    role: Role = Role.TENANT_ADMINISTRATOR,
    token_lifetime: timedelta = timedelta(hours=1),
) -> TenantContext:
    """A new tenant with one OAuth client of ``role`` and a bearer token for it.

    The client and its token are written directly, to keep tests fast (the token endpoint and
    the creation of clients have their own tests): every client of the test process has the
    same secret, hashed once, where hashing one takes some 40 ms of CPU.
    """
    name = f"tenant-{uuid.uuid4().hex[:12]}"
    async with database.transaction() as session:
        tenant = await service.create_tenant(session, name)
    return await _client_with_token(database, tenant.id, name, role, token_lifetime)


async def make_client(database: Database, tenant: TenantContext, *, role: Role) -> TenantContext:
    """Another OAuth client of ``tenant``, of ``role``, with a bearer token for it."""
    return await _client_with_token(
        database, tenant.tenant_id, tenant.name, role, timedelta(hours=1)
    )


async def _client_with_token(
    database: Database, tenant_id: str, name: str, role: Role, token_lifetime: timedelta
) -> TenantContext:
    secret, secret_hash = await _client_secret()
    client = OAuthClient(
        tenant_id=tenant_id,
        client_id=str(uuid.uuid4()),
        secret_hash=secret_hash,
        name="test",
        role=role,
    )
    token = generate_token()
    now = utcnow()
    async with database.transaction() as session:
        session.add(client)
        await session.flush()
        session.add(
            AccessToken(
                tenant_id=tenant_id,
                token_hash=token_digest(token),
                client_id=client.id,
                role=role,
                issued_at=now,
                expires_at=now + token_lifetime,
            )
        )
    return TenantContext(tenant_id, name, client.client_id, secret, token)


_CLIENT_SECRET: list[tuple[str, str]] = []


async def _client_secret() -> tuple[str, str]:
    """The test process's client secret and its hash."""
    if not _CLIENT_SECRET:
        secret = generate_client_secret()
        _CLIENT_SECRET.append((secret, await hash_password(secret)))
    return _CLIENT_SECRET[0]


@dataclass(frozen=True)
class UserContext:
    tenant_name: str
    user_id: str
    email: str
    password: str


async def make_user(
    database: Database,
    tenant: TenantContext,
    *,
    role: Role = Role.TENANT_ADMINISTRATOR,
    password: str | None = None,
) -> UserContext:
    """A user of ``tenant`` who can sign in to the console."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    password = password or f"pw-{uuid.uuid4().hex}"
    async with database.transaction() as session:
        tenant_row = await session.get(Tenant, tenant.tenant_id)
        user = await service.create_user(
            session, tenant_row, email=email, password=password, role=role
        )
    return UserContext(tenant.name, user.id, email, password)
