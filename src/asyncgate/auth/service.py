"""Tenants, users, OAuth clients and bearer tokens. Services flush; the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.auth import secrets
from asyncgate.auth.models import AccessToken, OAuthClient, Revocations, Tenant, User
from asyncgate.auth.principal import Principal
from asyncgate.auth.roles import Role, may_grant
from asyncgate.db.base import utcnow
from asyncgate.db.upsert import insert_unless_present
from asyncgate.http.errors import (
    AuthenticationFailed,
    BusinessRuleViolated,
    InvalidValue,
    NotFound,
    PermissionDenied,
    Resource,
)

MAX_CLIENT_SECRET_LENGTH = 42
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 255
MIN_PASSWORD_LENGTH = 8
REVOCATIONS_ROW = 1


class WeakPassword(InvalidValue):
    pass


class LastTenantAdministrator(BusinessRuleViolated):
    """A tenant keeps at least one active Tenant administrator."""

    status = 409


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    jti: str
    expires_in: int
    expires_at: datetime


def _checked_name(name: str, what: str) -> str:
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME_LENGTH:
        raise InvalidValue(
            f"A {what} name must be 1 to {MAX_NAME_LENGTH} characters", resource=Resource.AUTH
        )
    return name


async def create_tenant(session: AsyncSession, name: str) -> Tenant:
    name = _checked_name(name, "tenant")
    if await session.scalar(select(Tenant.id).where(Tenant.name == name)):
        raise InvalidValue(f"Tenant {name!r} already exists", resource=Resource.TENANT)
    tenant = Tenant(name=name)
    session.add(tenant)
    await session.flush()
    return tenant


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise NotFound(f"Tenant {name!r} does not exist", resource=Resource.TENANT)
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"Tenant {tenant_id} does not exist", resource=Resource.TENANT)
    return tenant


async def create_user(
    session: AsyncSession, tenant: Tenant, *, email: str, password: str, role: Role
) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        raise InvalidValue(f"{email!r} is not an email address", resource=Resource.AUTH)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters", resource=Resource.AUTH
        )
    exists = await session.scalar(
        select(User.id).where(User.tenant_id == tenant.id, User.email == email)
    )
    if exists:
        raise InvalidValue(f"User {email!r} already exists", resource=Resource.AUTH)
    user = User(
        tenant_id=tenant.id,
        email=email,
        password_hash=await secrets.hash_password(password),
        role=role,
    )
    session.add(user)
    await session.flush()
    return user


async def list_users(session: AsyncSession, tenant_id: str) -> list[User]:
    return list(
        await session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.email))
    )


async def _tenant_user(session: AsyncSession, tenant_id: str, user_id: str) -> User:
    user = await session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))
    if user is None:
        raise NotFound(f"User {user_id} does not exist", resource=Resource.AUTH)
    return user


async def _keep_a_tenant_administrator(session: AsyncSession, user: User) -> None:
    """Refuses when ``user`` is the tenant's last active Tenant administrator."""
    if not user.active or user.role != Role.TENANT_ADMINISTRATOR:
        return
    # Locked, so two administrators demoting each other at once cannot both succeed.
    others = await session.scalars(
        select(User.id)
        .where(
            User.tenant_id == user.tenant_id,
            User.id != user.id,
            User.active.is_(True),
            User.role == Role.TENANT_ADMINISTRATOR.value,
        )
        .with_for_update()
    )
    if not others.first():
        raise LastTenantAdministrator(
            f"{user.email} is the tenant's last active Tenant administrator: "
            "make another user Tenant administrator first",
            resource=Resource.AUTH,
        )


async def change_role(session: AsyncSession, tenant_id: str, user_id: str, role: Role) -> User:
    user = await _tenant_user(session, tenant_id, user_id)
    if role != user.role:
        await _keep_a_tenant_administrator(session, user)
        user.role = role
        await session.flush()
    return user


async def set_user_active(
    session: AsyncSession, tenant_id: str, user_id: str, *, active: bool
) -> User:
    """A disabled user cannot sign in, and their sessions stop opening at their next request."""
    user = await _tenant_user(session, tenant_id, user_id)
    if not active:
        await _keep_a_tenant_administrator(session, user)
    user.active = active
    await session.flush()
    return user


async def authenticate_user(
    session: AsyncSession, *, tenant_name: str, email: str, password: str
) -> User:
    """The active user of the tenant with this email and password. Any mismatch is the same
    :class:`AuthenticationFailed`, taking as long as a match, so neither the answer nor its
    timing tells which tenants and emails exist."""
    user = await session.scalar(
        select(User)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(Tenant.name == tenant_name.strip(), User.email == email.strip().lower())
    )
    matches = await secrets.verify_password(None if user is None else user.password_hash, password)
    if user is None or not user.active or not matches:
        raise AuthenticationFailed("Invalid tenant, email or password")
    return user


def _is_uuid_text(value: str) -> bool:
    """The SDK insists on exactly 36 characters: the hyphenated UUID form, nothing else."""
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


async def create_client(
    session: AsyncSession,
    tenant: Tenant,
    *,
    name: str,
    role: Role = Role.TENANT_ADMINISTRATOR,
    client_id: str | None = None,
    client_secret: str | None = None,
    granted_by: Role | None = None,
) -> tuple[OAuthClient, str]:
    """A new OAuth client and its secret in clear, which is never available again.
    ``granted_by``, the role of the user asking, must be allowed to hand out ``role``."""
    name = _checked_name(name, "client")
    if granted_by is not None and not may_grant(granted_by, role):
        raise PermissionDenied(
            f"Only a Tenant administrator may create a client with the role {role}",
            resource=Resource.AUTH,
        )
    client_id = client_id or str(uuid.uuid4())
    if not _is_uuid_text(client_id):
        raise InvalidValue("client_id must be a 36-character UUID", resource=Resource.AUTH)
    client_secret = client_secret or secrets.generate_client_secret()
    if not 0 < len(client_secret) <= MAX_CLIENT_SECRET_LENGTH:
        raise InvalidValue("client_secret must be 1 to 42 characters", resource=Resource.AUTH)
    if await session.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
        raise InvalidValue(f"Client {client_id} already exists", resource=Resource.AUTH)
    client = OAuthClient(
        tenant_id=tenant.id,
        client_id=client_id,
        secret_hash=await secrets.hash_password(client_secret),
        name=name,
        role=role,
    )
    session.add(client)
    await session.flush()
    return client, client_secret


async def list_clients(session: AsyncSession, tenant_id: str) -> list[OAuthClient]:
    return list(
        await session.scalars(
            select(OAuthClient)
            .where(OAuthClient.tenant_id == tenant_id)
            .order_by(OAuthClient.created_at.desc(), OAuthClient.id)
        )
    )


async def revoke_client(
    session: AsyncSession, client_id: str, *, tenant_id: str | None = None
) -> OAuthClient:
    """Stop a client from getting tokens and end the tokens it holds; with ``tenant_id``, only
    a client of that tenant."""
    query = select(OAuthClient).where(OAuthClient.client_id == client_id)
    if tenant_id is not None:
        query = query.where(OAuthClient.tenant_id == tenant_id)
    client = await session.scalar(query)
    if client is None:
        raise NotFound(f"Client {client_id} does not exist", resource=Resource.AUTH)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
    await session.execute(delete(AccessToken).where(AccessToken.client_id == client.id))
    await _count_revocation(session)
    await session.flush()
    return client


async def _count_revocation(session: AsyncSession) -> None:
    """Adds one to the revocations serial, which tells every serving process to drop the
    tokens it verified lately (the row lock orders concurrent revocations)."""
    await insert_unless_present(
        session, Revocations.__table__, {"id": REVOCATIONS_ROW, "serial": 0}
    )
    await session.execute(
        update(Revocations)
        .where(Revocations.id == REVOCATIONS_ROW)
        .values(serial=Revocations.serial + 1)
    )


async def revocations_serial(session: AsyncSession) -> int:
    """How many revocations there have been: one indexed read of one row."""
    serial = await session.scalar(
        select(Revocations.serial).where(Revocations.id == REVOCATIONS_ROW)
    )
    return serial or 0


async def issue_token(
    session: AsyncSession, *, client_id: str, client_secret: str, lifetime: timedelta
) -> IssuedToken:
    client = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    secret_matches = await secrets.verify_password(
        None if client is None else client.secret_hash, client_secret
    )
    if client is None or client.revoked_at is not None or not secret_matches:
        raise AuthenticationFailed("Invalid client credentials")
    now = utcnow()
    token = secrets.generate_token()
    record = AccessToken(
        tenant_id=client.tenant_id,
        token_hash=secrets.token_digest(token),
        client_id=client.id,
        role=client.role,
        issued_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    # Expired tokens of this client are of no use to anyone; drop them as new ones are issued.
    await session.execute(
        delete(AccessToken).where(AccessToken.client_id == client.id, AccessToken.expires_at < now)
    )
    await session.flush()
    return IssuedToken(
        access_token=token,
        jti=record.id,
        expires_in=int(lifetime.total_seconds()) - 1,
        expires_at=record.expires_at,
    )


async def principal_for_token(
    session: AsyncSession, token: str, now: datetime
) -> tuple[Principal, datetime]:
    """The caller a bearer token stands for at ``now``, and when the token stops being
    valid."""
    record = await session.scalar(
        select(AccessToken).where(AccessToken.token_hash == secrets.token_digest(token))
    )
    if record is None or record.expires_at <= now:
        raise AuthenticationFailed()
    principal = Principal(
        tenant_id=record.tenant_id, role=Role(record.role), client_id=record.client_id
    )
    return principal, record.expires_at
