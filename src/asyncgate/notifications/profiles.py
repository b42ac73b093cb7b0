"""Communication profiles: every tenant has a default one, made the first time it is needed.

Made lazily rather than with the tenant, so tenants that never use notifications (and every
tenant that existed before them) need nothing. Two requests making it at once make one: the
database allows one default profile per tenant, and the loser of the race reads the winner's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.db.base import new_id, utcnow
from asyncgate.db.upsert import insert_unless_present
from asyncgate.http.errors import NotFound, Resource
from asyncgate.notifications.models import CommunicationProfile

DEFAULT_PROFILE_NAME = "Default Profile"


async def default_profile_id(session: AsyncSession, tenant_id: str) -> str:
    """The ID of the tenant's default profile, which this makes when there is none yet."""
    found = await _default_id(session, tenant_id)
    if found is not None:
        return found
    now = utcnow()
    row = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "name": DEFAULT_PROFILE_NAME,
        "is_default": True,
        "created_at": now,
        "updated_at": now,
    }
    await insert_unless_present(session, CommunicationProfile.__table__, row)
    made = await _default_id(session, tenant_id)
    assert made is not None, "the default profile was neither found nor made"
    return made


async def check_profile(session: AsyncSession, tenant_id: str, profile_id: str) -> str:
    """``profile_id`` if it names a profile of the tenant, else :class:`NotFound`."""
    found = await session.scalar(
        select(CommunicationProfile.id).where(
            CommunicationProfile.tenant_id == tenant_id, CommunicationProfile.id == profile_id
        )
    )
    if found is None:
        raise NotFound(
            f"Communication profile {profile_id} does not exist",
            resource=Resource.COMMUNICATION_PROFILE,
        )
    return found


async def _default_id(session: AsyncSession, tenant_id: str) -> str | None:
    return await session.scalar(
        select(CommunicationProfile.id).where(
            CommunicationProfile.tenant_id == tenant_id, CommunicationProfile.is_default
        )
    )


async def list_profiles(session: AsyncSession, tenant_id: str) -> list[CommunicationProfile]:
    """The tenant's profiles, the default one first."""
    return list(
        await session.scalars(
            select(CommunicationProfile)
            .where(CommunicationProfile.tenant_id == tenant_id)
            .order_by(CommunicationProfile.is_default.desc(), CommunicationProfile.name)
        )
    )
