"""First start: an empty database gets tenant ``default``, an administrator and an OAuth client."""

from __future__ import annotations

import secrets as stdlib_secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from asyncgate.auth import service
from asyncgate.auth.models import Tenant
from asyncgate.auth.roles import Role
from asyncgate.config import Settings
from asyncgate.db.engine import Database

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class BootstrapCredentials:
    """What was created, with the secrets that were generated (None when taken from settings)."""

    tenant_id: str
    client_id: str
    generated_client_secret: str | None
    admin_email: str
    generated_admin_password: str | None


async def bootstrap_if_empty(database: Database, settings: Settings) -> BootstrapCredentials | None:
    """Create the first tenant, administrator and client; None when the database had a tenant.

    Processes starting together (an API and a worker) may race here: the loser's inserts hit
    the unique tenant name, and it leaves the winner's tenant as it is.
    """
    try:
        return await _bootstrap(database, settings)
    except IntegrityError:
        return None


async def _bootstrap(database: Database, settings: Settings) -> BootstrapCredentials | None:
    async with database.transaction() as session:
        if await session.scalar(select(Tenant.id).limit(1)) is not None:
            return None
        tenant = await service.create_tenant(session, DEFAULT_TENANT)
        configured = settings.bootstrap_admin_password
        password = configured.get_secret_value() if configured else ""
        generated_password = None
        if not password:
            password = generated_password = stdlib_secrets.token_urlsafe(18)
        await service.create_user(
            session,
            tenant,
            email=settings.bootstrap_admin_email,
            password=password,
            role=Role.TENANT_ADMINISTRATOR,
        )
        secret = (
            settings.bootstrap_client_secret.get_secret_value()
            if settings.bootstrap_client_secret
            else None
        )
        client, client_secret = await service.create_client(
            session,
            tenant,
            name="bootstrap",
            client_id=settings.bootstrap_client_id,
            client_secret=secret,
        )
        return BootstrapCredentials(
            tenant_id=tenant.id,
            client_id=client.client_id,
            generated_client_secret=None if secret else client_secret,
            admin_email=settings.bootstrap_admin_email,
            generated_admin_password=generated_password,
        )
