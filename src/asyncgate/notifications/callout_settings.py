"""A tenant's callout settings: how often and how far apart a callout is attempted, whether a
receiver's answer must say ``"success": true``, and the secret callouts are signed with.

Zuora keeps these in its UI; asyncgate reads and changes them through
``/notifications/callout-settings``. A tenant that never changed them has the service's
defaults (``ASYNCGATE_CALLOUT_DEFAULT_*``); its first change stores them all.

Signing secrets follow Standard Webhooks: ``whsec_`` and the base64 of 32 random bytes. A
rotation keeps the secret it replaces signing beside the new one for a grace period, so
receivers can switch without dropping callouts; rotating again within it drops the oldest.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.upsert import insert_unless_present
from asyncgate.notifications.models import CalloutSettings
from asyncgate.notifications.schemas import CalloutSettingsUpdate
from asyncgate.secretbox import SecretBox

SIGNING_SECRET_PREFIX = "whsec_"
SIGNING_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class NewSigningSecret:
    secret: str
    created_at: datetime
    previous_expires_at: datetime | None


def generate_signing_secret() -> str:
    return (
        SIGNING_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SIGNING_SECRET_BYTES)).decode()
    )


def min_interval(settings: CalloutSettings, unit: timedelta) -> timedelta:
    """The least time between two attempts of a callout: the tenant's minutes, each ``unit``
    long (``ASYNCGATE_CALLOUT_INTERVAL_UNIT``, a minute unless tests shorten it)."""
    return settings.min_interval_minutes * unit


def _defaults(tenant_id: str, settings: Settings) -> CalloutSettings:
    return CalloutSettings(
        tenant_id=tenant_id,
        max_attempts=settings.callout_default_max_attempts,
        min_interval_minutes=settings.callout_default_min_interval_minutes,
        parse_response_content=False,
    )


async def get_callout_settings(
    session: AsyncSession, tenant_id: str, settings: Settings
) -> CalloutSettings:
    """The tenant's settings; for a tenant that has none stored, the defaults (not stored)."""
    stored = await session.get(CalloutSettings, tenant_id)
    return stored or _defaults(tenant_id, settings)


# Built once: a worker looks the settings up in every transaction that makes deliveries.
_SETTINGS_OF_TENANTS = select(CalloutSettings).where(
    CalloutSettings.tenant_id.in_(bindparam("tenant_ids", expanding=True))
)


async def settings_of_tenants(
    session: AsyncSession, tenant_ids: Iterable[str], settings: Settings
) -> dict[str, CalloutSettings]:
    """:func:`get_callout_settings` of several tenants in one query."""
    wanted = set(tenant_ids)
    stored = await session.scalars(_SETTINGS_OF_TENANTS, {"tenant_ids": list(wanted)})
    found = {row.tenant_id: row for row in stored}
    return {
        tenant_id: found.get(tenant_id) or _defaults(tenant_id, settings) for tenant_id in wanted
    }


async def _stored_for_change(
    session: AsyncSession, tenant_id: str, settings: Settings
) -> CalloutSettings:
    """The tenant's stored settings, stored first with the defaults when there were none, and
    locked (on PostgreSQL) so concurrent changes apply one after the other."""
    now = utcnow()
    defaults = _defaults(tenant_id, settings)
    await insert_unless_present(
        session,
        CalloutSettings.__table__,
        {
            "tenant_id": tenant_id,
            "max_attempts": defaults.max_attempts,
            "min_interval_minutes": defaults.min_interval_minutes,
            "parse_response_content": defaults.parse_response_content,
            "created_at": now,
            "updated_at": now,
        },
    )
    statement = (
        select(CalloutSettings)
        .where(CalloutSettings.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def update_callout_settings(
    session: AsyncSession, tenant_id: str, data: CalloutSettingsUpdate, settings: Settings
) -> CalloutSettings:
    stored = await _stored_for_change(session, tenant_id, settings)
    for name in data.model_fields_set:
        setattr(stored, name, getattr(data, name))
    await session.flush()
    return stored


async def rotate_signing_secret(
    session: AsyncSession, tenant_id: str, settings: Settings, box: SecretBox
) -> NewSigningSecret:
    """Makes a new signing secret; the one it replaces (if any) signs on for the grace period
    (``ASYNCGATE_CALLOUT_SIGNING_GRACE``). The secret is returned in clear only here."""
    stored = await _stored_for_change(session, tenant_id, settings)
    now = utcnow()
    if stored.signing_secret_sealed is not None:
        stored.previous_signing_secret_sealed = stored.signing_secret_sealed
        stored.previous_signing_secret_expires_at = now + settings.callout_signing_grace
    secret = generate_signing_secret()
    stored.signing_secret_sealed = box.encrypt(secret)
    stored.signing_secret_created_at = now
    await session.flush()
    previous_expires_at = (
        stored.previous_signing_secret_expires_at if stored.previous_secret_signs(now) else None
    )
    return NewSigningSecret(secret, now, previous_expires_at)
