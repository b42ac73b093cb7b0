"""``/notifications``: notification definitions and callout resends (Zuora's paths, without
``/v1``, as its SDK calls them) and the tenant's callout settings (asyncgate's own).

Anyone of the tenant may read; only the administrator roles may create, change, delete or
resend. Statuses are the ones zuora-sdk understands: 200 for create, read, list and update, 204
for delete, 202 for resend (it reads any other 2xx as an empty answer).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from asyncgate.auth.dependencies import AdministratorPrincipal, CurrentPrincipal
from asyncgate.auth.routes import NO_STORE
from asyncgate.db.base import utcnow
from asyncgate.http import idempotency
from asyncgate.http.errors import InvalidValue, Resource
from asyncgate.http.extensions import EXTENSION
from asyncgate.http.routing import Session, UnitOfWorkRoute
from asyncgate.http.validation import MAX_INT32
from asyncgate.notifications import callout_settings, history, service
from asyncgate.notifications.schemas import (
    CalloutSettingsOut,
    CalloutSettingsUpdate,
    NotificationDefinitionCreate,
    NotificationDefinitionOut,
    NotificationDefinitionPage,
    NotificationDefinitionUpdate,
    ResendRefusalOut,
    SigningSecretOut,
)
from asyncgate.notifications.service import CalloutGuards
from asyncgate.notifications.urls import CalloutUrlRules

router = APIRouter(prefix="/notifications", route_class=UnitOfWorkRoute, tags=["Notifications"])
# Callout settings and signing secrets, which Zuora keeps in its UI: an extension (see
# ``http.extensions``).
settings_router = APIRouter(
    prefix="/notifications", route_class=UnitOfWorkRoute, tags=["Notifications"]
)

DEFINITIONS = "/notification-definitions"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_RESENDS = 100
HistoryId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


async def callout_guards(request: Request) -> CalloutGuards:
    return CalloutGuards(
        CalloutUrlRules.from_settings(request.app.state.settings), request.app.state.secret_box
    )


Guards = Annotated[CalloutGuards, Depends(callout_guards)]


@router.post(DEFINITIONS)
async def create_notification_definition(
    body: NotificationDefinitionCreate,
    session: Session,
    principal: AdministratorPrincipal,
    guards: Guards,
) -> NotificationDefinitionOut:
    definition = await service.create_definition(session, principal, body, guards)
    return NotificationDefinitionOut.of(definition)


@router.get(DEFINITIONS)
async def query_notification_definitions(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    start: Annotated[int, Query(ge=0, le=MAX_INT32)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    profile_id: Annotated[str | None, Query(alias="profileId")] = None,
    event_type_name: Annotated[str | None, Query(alias="eventTypeName")] = None,
    email_template_id: Annotated[str | None, Query(alias="emailTemplateId")] = None,
) -> NotificationDefinitionPage:
    """Paged by ``start`` and ``limit``; ``next`` repeats the query from ``start + limit``."""
    definitions = await service.list_definitions(
        session,
        principal.tenant_id,
        start=start,
        limit=limit + 1,  # one more tells whether there is a next page
        profile_id=profile_id,
        event_type_name=event_type_name,
        email_template_id=email_template_id,
    )
    next_page = None
    if len(definitions) > limit:
        url = request.url.include_query_params(start=start + limit, limit=limit)
        next_page = f"{url.path}?{url.query}"
    return NotificationDefinitionPage(
        next=next_page, data=[NotificationDefinitionOut.of(d) for d in definitions[:limit]]
    )


@router.get(DEFINITIONS + "/{definition_id}")
async def get_notification_definition(
    definition_id: str, session: Session, principal: CurrentPrincipal
) -> NotificationDefinitionOut:
    definition = await service.get_definition(session, principal.tenant_id, definition_id)
    return NotificationDefinitionOut.of(definition)


@router.put(DEFINITIONS + "/{definition_id}")
async def update_notification_definition(
    definition_id: str,
    body: NotificationDefinitionUpdate,
    session: Session,
    principal: AdministratorPrincipal,
    guards: Guards,
) -> NotificationDefinitionOut:
    definition = await service.update_definition(session, principal, definition_id, body, guards)
    return NotificationDefinitionOut.of(definition)


@router.delete(DEFINITIONS + "/{definition_id}", status_code=204)
async def delete_notification_definition(
    definition_id: str, session: Session, principal: AdministratorPrincipal
) -> Response:
    await service.delete_definition(session, principal.tenant_id, definition_id)
    return Response(status_code=204)


@settings_router.get("/callout-settings", openapi_extra=EXTENSION)
async def get_callout_settings(
    request: Request, session: Session, principal: CurrentPrincipal
) -> CalloutSettingsOut:
    stored = await callout_settings.get_callout_settings(
        session, principal.tenant_id, request.app.state.settings
    )
    return CalloutSettingsOut.of(stored, utcnow())


@settings_router.put("/callout-settings", openapi_extra=EXTENSION)
async def update_callout_settings(
    request: Request,
    body: CalloutSettingsUpdate,
    session: Session,
    principal: AdministratorPrincipal,
) -> CalloutSettingsOut:
    stored = await callout_settings.update_callout_settings(
        session, principal.tenant_id, body, request.app.state.settings
    )
    return CalloutSettingsOut.of(stored, utcnow())


@settings_router.post("/callout-settings/signing-secret", openapi_extra=EXTENSION)
async def rotate_signing_secret(
    request: Request, response: Response, session: Session, principal: AdministratorPrincipal
) -> SigningSecretOut:
    """A new signing secret, answered this once. No ``Idempotency-Key``: a replay would need
    the answer, secret included, stored in clear."""
    if idempotency.marked_key(request) is not None:
        raise InvalidValue(
            "This endpoint takes no Idempotency-Key: its answer holds a secret that is never "
            "stored in clear",
            resource=Resource.CALLOUT_SETTINGS,
        )
    new = await callout_settings.rotate_signing_secret(
        session, principal.tenant_id, request.app.state.settings, request.app.state.secret_box
    )
    response.headers.update(NO_STORE)
    return SigningSecretOut(
        secret=new.secret,
        created_on=new.created_at,
        previous_secret_expires_on=new.previous_expires_at,
    )


@router.post("/callout-histories/resend", status_code=202)
async def resend_callout_notifications(
    history_ids: Annotated[list[HistoryId], Body(min_length=1, max_length=MAX_RESENDS)],
    session: Session,
    principal: AdministratorPrincipal,
) -> JSONResponse:
    """Each named attempt's callout is sent once more, by the sender (see ``history``). The
    answer is Zuora's: 202 with the refused IDs (``{}`` when none: the SDK cannot read an empty
    body), or 400 with them all when every one was refused."""
    refused = await history.resend(session, principal.tenant_id, history_ids)
    body = {
        history_id: ResendRefusalOut(code=str(reason.code), message=reason.message).model_dump()
        for history_id, reason in refused.items()
    }
    every_one = bool(refused) and len(refused) == len(set(history_ids))
    return JSONResponse(body, status_code=400 if every_one else 202)
