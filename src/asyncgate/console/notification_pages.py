"""Settings > Notifications: definitions by communication profile, Add New Notification, edit,
activate or deactivate, delete; and the tenant's callout settings and signing secret.

Every change goes through the service the API's ``/notifications`` routes call, with the same
URL rules and secret box; administrators change, anyone of the tenant looks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from asyncgate.console.dependencies import Changer, CurrentUser, pages_router
from asyncgate.console.forms import (
    EVENT_TYPES,
    HTTP_METHODS,
    DefinitionForm,
    FormInvalid,
    callout_settings_update,
    definition_refusal,
    validated,
)
from asyncgate.console.rendering import page
from asyncgate.console.routing import PREFIX, RolledBack
from asyncgate.console.sessions import SignedIn
from asyncgate.db.base import utcnow
from asyncgate.http.errors import ZuoraError
from asyncgate.http.routing import Session
from asyncgate.notifications import callout_settings, profiles, service
from asyncgate.notifications.models import CommunicationProfile, NotificationDefinition
from asyncgate.notifications.routes import Guards
from asyncgate.notifications.schemas import CalloutSettingsOut, NotificationDefinitionUpdate

router = pages_router("/settings")

DEFINITIONS = "/notifications"
LIST_PAGE = f"{PREFIX}/settings{DEFINITIONS}"
CALLOUT_SETTINGS = "/callouts"
# Zuora's UI lists a profile's definitions on one page; so does this, up to this many.
MAX_LISTED = 500


@router.get(DEFINITIONS)
async def definitions(request: Request, session: Session, user: CurrentUser) -> Response:
    tenant_profiles = await profiles.list_profiles(session, user.tenant_id)
    listed = await service.list_definitions(session, user.tenant_id, start=0, limit=MAX_LISTED)
    by_profile: dict[str, list[NotificationDefinition]] = defaultdict(list)
    for definition in listed:
        by_profile[definition.profile_id].append(definition)
    groups = [(profile.name, by_profile[profile.id]) for profile in tenant_profiles]
    if not groups:
        groups = [(profiles.DEFAULT_PROFILE_NAME, [])]
    return page(request, "notifications/list.html", {"groups": groups})


@dataclass(frozen=True)
class FormPage:
    """The definition form's page; what it lists is read before any change is tried, so a
    refusal renders even when the database refused the change."""

    profiles: list[CommunicationProfile]
    definition: NotificationDefinition | None = None

    @classmethod
    async def load(
        cls, session: Session, user: SignedIn, definition: NotificationDefinition | None = None
    ) -> FormPage:
        return cls(await profiles.list_profiles(session, user.tenant_id), definition)

    def render(
        self,
        request: Request,
        form: DefinitionForm,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        context: dict[str, Any] = {
            "form": form.values,
            "errors": errors or {},
            "definition": self.definition,
            "profiles": self.profiles,
            "event_types": EVENT_TYPES,
            "http_methods": HTTP_METHODS,
        }
        return page(request, "notifications/form.html", context, status=status)

    def refused(
        self, request: Request, form: DefinitionForm, error: FormInvalid | ZuoraError
    ) -> RolledBack:
        invalid = error if isinstance(error, FormInvalid) else definition_refusal(error)
        status = error.status if isinstance(error, ZuoraError) else 400
        return RolledBack(self.render(request, form, invalid.errors, status))


def _done(notice: str) -> Response:
    return RedirectResponse(f"{LIST_PAGE}?notice={notice}", status_code=303)


@router.get(DEFINITIONS + "/new")
async def new_definition(request: Request, session: Session, user: Changer) -> Response:
    form_page = await FormPage.load(session, user)
    return form_page.render(request, DefinitionForm())


@router.post(DEFINITIONS + "/new")
async def create_definition(
    request: Request, session: Session, user: Changer, guards: Guards
) -> Response:
    form_page = await FormPage.load(session, user)
    form = DefinitionForm.sent(await request.form())
    try:
        await service.create_definition(session, user.principal, form.create_body(), guards)
    except (FormInvalid, ZuoraError) as error:
        raise form_page.refused(request, form, error) from None
    return _done("created")


@router.get(DEFINITIONS + "/{definition_id}")
async def definition_page(
    definition_id: str, request: Request, session: Session, user: CurrentUser
) -> Response:
    definition = await service.get_definition(session, user.tenant_id, definition_id)
    form_page = await FormPage.load(session, user, definition)
    return form_page.render(request, DefinitionForm.of(definition))


@router.post(DEFINITIONS + "/{definition_id}")
async def update_definition(
    definition_id: str, request: Request, session: Session, user: Changer, guards: Guards
) -> Response:
    definition = await service.get_definition(session, user.tenant_id, definition_id)
    form_page = await FormPage.load(session, user, definition)
    form = DefinitionForm.sent(await request.form())
    form.values["event_type_name"] = definition.event_type_name  # it cannot change
    try:
        await service.update_definition(
            session, user.principal, definition_id, form.update_body(), guards
        )
    except (FormInvalid, ZuoraError) as error:
        raise form_page.refused(request, form, error) from None
    return _done("saved")


@router.post(DEFINITIONS + "/{definition_id}/active")
async def set_active(
    definition_id: str, request: Request, session: Session, user: Changer, guards: Guards
) -> Response:
    active = (await request.form()).get("active") == "true"
    change = validated(NotificationDefinitionUpdate, {"active": active}, {})
    await service.update_definition(session, user.principal, definition_id, change, guards)
    return _done("activated" if active else "deactivated")


@router.post(DEFINITIONS + "/{definition_id}/delete")
async def delete_definition(definition_id: str, session: Session, user: Changer) -> Response:
    await service.delete_definition(session, user.tenant_id, definition_id)
    return _done("deleted")


# -- callout settings ---------------------------------------------------------------------------


async def _settings_page(
    request: Request,
    session: Session,
    user: SignedIn,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    new_secret: callout_settings.NewSigningSecret | None = None,
    status: int = 200,
) -> Response:
    stored = await callout_settings.get_callout_settings(
        session, user.tenant_id, request.app.state.settings
    )
    shown = CalloutSettingsOut.of(stored, utcnow())
    context = {
        "settings": shown,
        "values": values
        or {
            "max_attempts": shown.max_attempts,
            "min_interval_minutes": shown.min_interval_minutes,
            "parse_response_content": shown.parse_response_content,
        },
        "errors": errors or {},
        "new_secret": new_secret,
    }
    return page(request, "notifications/callout_settings.html", context, status=status)


@router.get(CALLOUT_SETTINGS)
async def callout_settings_page(request: Request, session: Session, user: CurrentUser) -> Response:
    return await _settings_page(request, session, user)


@router.post(CALLOUT_SETTINGS)
async def update_callout_settings(request: Request, session: Session, user: Changer) -> Response:
    form = await request.form()
    try:
        change = callout_settings_update(form)
    except FormInvalid as invalid:
        values: dict[str, Any] = {
            name: form.get(name, "") for name in ("max_attempts", "min_interval_minutes")
        }
        values["parse_response_content"] = form.get("parse_response_content") == "on"
        raise RolledBack(
            await _settings_page(
                request, session, user, values=values, errors=invalid.errors, status=400
            )
        ) from None
    await callout_settings.update_callout_settings(
        session, user.tenant_id, change, request.app.state.settings
    )
    return RedirectResponse(
        f"{PREFIX}/settings{CALLOUT_SETTINGS}?notice=settings-saved", status_code=303
    )


@router.post(CALLOUT_SETTINGS + "/signing-secret")
async def rotate_signing_secret(request: Request, session: Session, user: Changer) -> Response:
    """The new secret is on this answer only: it is stored sealed, never shown again."""
    state = request.app.state
    new = await callout_settings.rotate_signing_secret(
        session, user.tenant_id, state.settings, state.secret_box
    )
    return await _settings_page(request, session, user, new_secret=new)
