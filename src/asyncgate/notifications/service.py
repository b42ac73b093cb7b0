"""Notification definition rules.

Every function is scoped to one tenant: another tenant's definition is not found, exactly like
a missing one. A refused request changes nothing: the checks that need no database come first,
the callout URL (which resolves its host) last, and whatever was written before a refusal is
rolled back with the request. Functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from asyncgate.auth.principal import Principal
from asyncgate.db.base import new_id, utcnow
from asyncgate.http.errors import (
    BusinessRuleViolated,
    InvalidValue,
    MissingField,
    NotFound,
    Resource,
)
from asyncgate.notifications import profiles
from asyncgate.notifications.models import Callout, NotificationDefinition
from asyncgate.notifications.schemas import (
    CalloutFields,
    NotificationDefinitionCreate,
    NotificationDefinitionUpdate,
)
from asyncgate.notifications.urls import CalloutUrlRules, vet_callout_url
from asyncgate.secretbox import SecretBox

RESOURCE = Resource.NOTIFICATION_DEFINITION


class DefinitionNameTaken(BusinessRuleViolated):
    """Another definition of the profile has the name (a 400, as Zuora's)."""


@dataclass(frozen=True, slots=True)
class CalloutGuards:
    """What saving a callout needs besides the session: the URL rules and the box that seals
    its password."""

    url_rules: CalloutUrlRules
    secret_box: SecretBox


def _actor(principal: Principal) -> str | None:
    return principal.user_id or principal.client_id


async def create_definition(
    session: AsyncSession,
    principal: Principal,
    data: NotificationDefinitionCreate,
    guards: CalloutGuards,
) -> NotificationDefinition:
    """A new definition, in the given profile or else the tenant's default one.

    The callout's event type must be the definition's; an active callout needs a callout;
    credentials are required when ``requiredAuth`` is true; the name must be free in the
    profile (a 400 otherwise).
    """
    tenant_id = principal.tenant_id
    if data.callout is not None and data.callout.event_type_name != data.event_type_name:
        raise InvalidValue(
            f"callout.eventTypeName must be the definition's eventTypeName, "
            f"{data.event_type_name!r}",
            resource=RESOURCE,
        )
    _check_deliverable(data.callout_active, data.email_active, data.callout is not None)
    profile_id = (
        await profiles.check_profile(session, tenant_id, data.communication_profile_id)
        if data.communication_profile_id is not None
        else await profiles.default_profile_id(session, tenant_id)
    )
    # One moment for both, so a new definition's updatedOn is its createdOn, and its callout's.
    now = utcnow()
    callout = None
    if data.callout is not None:
        callout = await _callout(data.callout, None, guards, principal, now)
    definition = NotificationDefinition(
        id=new_id(),
        tenant_id=tenant_id,
        profile_id=profile_id,
        name=data.name,
        description=data.description,
        event_type_name=data.event_type_name,
        active=data.active,
        callout_active=data.callout_active,
        filter_rule=None if data.filter_rule is None else data.filter_rule.as_sent(),
        filter_rule_params=data.filter_rule_params,
        email_template_id=data.email_template_id,
        associated_account=data.associated_account,
        created_by=_actor(principal),
        updated_by=_actor(principal),
        callout=callout,
    )
    definition.created_at = definition.updated_at = now
    async with _name_free_in_profile(session, definition):
        session.add(definition)
    return definition


async def get_definition(
    session: AsyncSession, tenant_id: str, definition_id: str
) -> NotificationDefinition:
    definition = await session.scalar(
        select(NotificationDefinition)
        .where(
            NotificationDefinition.tenant_id == tenant_id,
            NotificationDefinition.id == definition_id,
        )
        .options(selectinload(NotificationDefinition.callout))
    )
    if definition is None:
        raise NotFound(f"Notification definition {definition_id} does not exist", resource=RESOURCE)
    return definition


async def list_definitions(
    session: AsyncSession,
    tenant_id: str,
    *,
    start: int,
    limit: int,
    profile_id: str | None = None,
    event_type_name: str | None = None,
    email_template_id: str | None = None,
) -> list[NotificationDefinition]:
    """Up to ``limit`` definitions from the ``start``-th, oldest first (ties by ID), of the
    profile, event type and email template given."""
    statement = (
        select(NotificationDefinition)
        .where(NotificationDefinition.tenant_id == tenant_id)
        .options(selectinload(NotificationDefinition.callout))
        .order_by(NotificationDefinition.created_at, NotificationDefinition.id)
        .offset(start)
        .limit(limit)
    )
    if profile_id is not None:
        statement = statement.where(NotificationDefinition.profile_id == profile_id)
    if event_type_name is not None:
        statement = statement.where(NotificationDefinition.event_type_name == event_type_name)
    if email_template_id is not None:
        statement = statement.where(NotificationDefinition.email_template_id == email_template_id)
    return list(await session.scalars(statement))


async def update_definition(
    session: AsyncSession,
    principal: Principal,
    definition_id: str,
    data: NotificationDefinitionUpdate,
    guards: CalloutGuards,
) -> NotificationDefinition:
    """Changes the fields sent. A callout sent replaces the stored one whole (keeping its ID),
    except that a ``calloutAuth`` without a password keeps the stored password. The event type
    cannot change."""
    definition = await get_definition(session, principal.tenant_id, definition_id)
    given = data.model_fields_set
    # ``calloutActive`` and ``emailActive`` are None only when not sent: null is refused.
    callout_active = (
        definition.callout_active if data.callout_active is None else data.callout_active
    )
    has_callout = data.callout is not None or definition.callout is not None
    _check_deliverable(callout_active, data.email_active is True, has_callout)
    now = utcnow()
    async with _name_free_in_profile(session, definition):
        if data.communication_profile_id is not None:
            definition.profile_id = await profiles.check_profile(
                session, principal.tenant_id, data.communication_profile_id
            )
        if data.callout is not None:
            definition.callout = await _callout(
                data.callout, definition.callout, guards, principal, now
            )
        for name in UPDATABLE:
            if name in given:
                setattr(definition, name, getattr(data, name))
        if "filter_rule" in given:
            rule = data.filter_rule
            definition.filter_rule = None if rule is None else rule.as_sent()
        # Set here, not left to the column's onupdate: a change of the callout alone does not
        # touch the definition's row.
        definition.updated_by = _actor(principal)
        definition.updated_at = now
    return definition


# The fields an update copies as sent (``filter_rule`` is stored as the client wrote it).
UPDATABLE = (
    "name",
    "description",
    "active",
    "callout_active",
    "filter_rule_params",
    "email_template_id",
    "associated_account",
)


async def delete_definition(session: AsyncSession, tenant_id: str, definition_id: str) -> None:
    definition = await get_definition(session, tenant_id, definition_id)
    await session.delete(definition)
    await session.flush()


def _check_deliverable(callout_active: bool, email_active: bool, has_callout: bool) -> None:
    if email_active:
        raise BusinessRuleViolated(
            "emailActive cannot be true: asyncgate sends no email notifications (it has no "
            "email templates)",
            resource=RESOURCE,
        )
    if callout_active and not has_callout:
        raise MissingField("calloutActive is true, so a callout is required", resource=RESOURCE)


async def _callout(
    data: CalloutFields,
    stored: Callout | None,
    guards: CalloutGuards,
    principal: Principal,
    now: datetime,
) -> Callout:
    """The callout ``data`` describes, written over ``stored`` when there is one (which keeps
    its ID and who made it when), changed at ``now``."""
    auth = data.callout_auth
    password_sealed = None
    if auth is not None and auth.password:
        password_sealed = guards.secret_box.encrypt(auth.password)
    elif auth is not None and stored is not None:
        password_sealed = stored.password_sealed
    has_username = auth is not None and bool(auth.username)
    if data.required_auth and not (has_username and password_sealed is not None):
        raise MissingField(
            "callout.calloutAuth needs a username and a password when requiredAuth is true",
            resource=RESOURCE,
        )
    await vet_callout_url(data.callout_baseurl, guards.url_rules)
    callout = stored
    if callout is None:
        callout = Callout(id=new_id(), created_by=_actor(principal), created_at=now)
    # Set here: the column's onupdate misses a callout sent back unchanged.
    callout.updated_at = now
    callout.name = data.name
    callout.active = data.active
    callout.url = data.callout_baseurl
    callout.http_method = data.http_method
    callout.required_auth = data.required_auth
    callout.username = auth.username if auth else None
    callout.password_sealed = password_sealed
    callout.domain = auth.domain if auth else None
    callout.preemptive = auth.preemptive if auth else False
    callout.retry = data.callout_retry
    callout.params = data.callout_params
    callout.description = data.description
    return callout


@asynccontextmanager
async def _name_free_in_profile(
    session: AsyncSession, definition: NotificationDefinition
) -> AsyncIterator[None]:
    """Makes the block's changes to ``definition`` in a savepoint and flushes them; a name
    another definition of its profile has is refused with a 400, as Zuora's. The database
    enforces it, so two requests racing for one name cannot both win.

    Changes belong inside the block: a savepoint flushes what is pending when it begins.
    """
    try:
        async with session.begin_nested():
            yield
            # Read before flushing: a failed flush expires them, and reloading needs a query.
            profile_id, name, definition_id = definition.profile_id, definition.name, definition.id
            await session.flush()
    except IntegrityError:
        taken = await session.scalar(
            select(NotificationDefinition.id).where(
                NotificationDefinition.profile_id == profile_id,
                NotificationDefinition.name == name,
                NotificationDefinition.id != definition_id,
            )
        )
        if taken is None:
            raise
        raise DefinitionNameTaken(
            f"A notification definition named {name!r} already exists in its communication profile",
            resource=RESOURCE,
        ) from None
