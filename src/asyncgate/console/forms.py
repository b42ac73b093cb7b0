"""Console forms: what a form sent, turned into the API's own request bodies, and the API's
own refusals placed beside the fields they concern.

A form is validated exactly as the API validates a request: by the API's pydantic body and
then by the same service call. The errors come back keyed by form field, ``_form`` for those
that concern no single field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from asyncgate.auth.roles import Role
from asyncgate.auth.service import WeakPassword
from asyncgate.http.errors import MissingField, NotFound, PermissionDenied, ZuoraError
from asyncgate.notifications.models import NotificationDefinition
from asyncgate.notifications.outbox import EventType
from asyncgate.notifications.schemas import (
    CalloutSettingsUpdate,
    NotificationDefinitionCreate,
    NotificationDefinitionUpdate,
)
from asyncgate.notifications.service import DefinitionNameTaken
from asyncgate.notifications.urls import CalloutUrlRefused

FORM_ERROR = "_form"
REQUIRED = "This field is required"
Schema = TypeVar("Schema", bound=BaseModel)


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def validated(schema: type[Schema], body: dict[str, Any], fields: Mapping[str, str]) -> Schema:
    """``body`` as ``schema``; :class:`FormInvalid` with the errors by form field (``fields``
    maps the API's names to the form's)."""
    try:
        return schema.model_validate(body)
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in error.errors():
            names = [part for part in item["loc"] if isinstance(part, str)]
            name = next((fields[part] for part in reversed(names) if part in fields), FORM_ERROR)
            errors.setdefault(name, _message(item))
        raise FormInvalid(errors) from None


def _message(item: Mapping[str, Any]) -> str:
    if item["type"] == "missing" or (
        item["type"] == "string_too_short" and item.get("ctx", {}).get("min_length") == 1
    ):
        return REQUIRED
    return item["msg"]


def _checked(form: FormData, name: str) -> bool:
    return form.get(name) == "on"


# -- notification definitions -------------------------------------------------------------------

TEXT_FIELDS = (
    "name",
    "description",
    "event_type_name",
    "profile_id",
    "callout_baseurl",
    "http_method",
    "username",
    "password",
    "domain",
)
CHECKBOXES = ("active", "callout_active", "required_auth", "preemptive", "callout_retry")
HTTP_METHODS = ("POST", "PUT", "GET", "DELETE")
EVENT_TYPES = tuple(event_type.value for event_type in EventType)
DEFINITION_FIELDS = {
    "name": "name",
    "description": "description",
    "eventTypeName": "event_type_name",
    "communicationProfileId": "profile_id",
    "calloutBaseurl": "callout_baseurl",
    "httpMethod": "http_method",
    "username": "username",
    "password": "password",
    "domain": "domain",
}


@dataclass
class DefinitionForm:
    """The fields of Settings > Notifications > Add New Notification (and of its edit form)."""

    values: dict[str, Any] = field(
        default_factory=lambda: {
            **dict.fromkeys(TEXT_FIELDS, ""),
            "event_type_name": EventType.ASYNC_REQUEST_SUCCEEDED.value,
            "http_method": "POST",
            "active": True,
            "callout_active": True,
            "required_auth": False,
            "preemptive": False,
            "callout_retry": True,
        }
    )

    @classmethod
    def sent(cls, form: FormData) -> DefinitionForm:
        values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
        values.update({name: _checked(form, name) for name in CHECKBOXES})
        return cls(values)

    @classmethod
    def of(cls, definition: NotificationDefinition) -> DefinitionForm:
        """The stored definition's values; the password is never shown."""
        callout = definition.callout
        values = cls().values | {
            "name": definition.name,
            "description": definition.description or "",
            "event_type_name": definition.event_type_name,
            "profile_id": definition.profile_id,
            "active": definition.active,
            "callout_active": definition.callout_active,
        }
        if callout is not None:
            values |= {
                "callout_baseurl": callout.url,
                "http_method": callout.http_method,
                "required_auth": callout.required_auth,
                "username": callout.username or "",
                "domain": callout.domain or "",
                "preemptive": callout.preemptive,
                "callout_retry": callout.retry,
            }
        return cls(values)

    def _callout(self, *, creating: bool) -> dict[str, Any] | None:
        values = self.values
        if not values["callout_active"] and not values["callout_baseurl"]:
            return None
        callout: dict[str, Any] = {
            "name": values["name"],
            "calloutBaseurl": values["callout_baseurl"],
            "httpMethod": values["http_method"],
            "requiredAuth": values["required_auth"],
            "calloutRetry": values["callout_retry"],
        }
        # A blank password keeps the stored one.
        auth = {name: values[name] for name in ("username", "password", "domain") if values[name]}
        if auth or values["preemptive"]:
            callout["calloutAuth"] = auth | {"preemptive": values["preemptive"]}
        if creating:
            callout["eventTypeName"] = values["event_type_name"]
        return callout

    def _body(self, *, creating: bool) -> dict[str, Any]:
        values = self.values
        body = {
            "name": values["name"],
            "description": values["description"] or None,
            "active": values["active"],
            "calloutActive": values["callout_active"],
        }
        callout = self._callout(creating=creating)
        if callout is not None:
            body["callout"] = callout
        if creating:
            body["eventTypeName"] = values["event_type_name"]
            if values["profile_id"]:
                body["communicationProfileId"] = values["profile_id"]
        return body

    def create_body(self) -> NotificationDefinitionCreate:
        return validated(NotificationDefinitionCreate, self._body(creating=True), DEFINITION_FIELDS)

    def update_body(self) -> NotificationDefinitionUpdate:
        return validated(
            NotificationDefinitionUpdate, self._body(creating=False), DEFINITION_FIELDS
        )


def definition_refusal(error: ZuoraError) -> FormInvalid:
    """The service's refusal of a definition, beside the field it concerns."""
    message = str(error)
    if isinstance(error, CalloutUrlRefused):
        return FormInvalid({"callout_baseurl": message.replace("calloutBaseurl", "Base URL", 1)})
    if isinstance(error, DefinitionNameTaken):
        return FormInvalid({"name": message})
    if isinstance(error, NotFound):
        return FormInvalid({"profile_id": message})
    if isinstance(error, MissingField):
        return FormInvalid({"password" if "calloutAuth" in message else "callout_baseurl": message})
    return FormInvalid({FORM_ERROR: message})


# -- callout settings ---------------------------------------------------------------------------

SETTINGS_NUMBERS = {"max_attempts": "maxAttempts", "min_interval_minutes": "minIntervalMinutes"}


def callout_settings_update(form: FormData) -> CalloutSettingsUpdate:
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"parseResponseContent": _checked(form, "parse_response_content")}
    for name, alias in SETTINGS_NUMBERS.items():
        try:
            body[alias] = int(str(form.get(name, "")).strip())
        except ValueError:
            errors[name] = "Enter a whole number"
    if errors:
        raise FormInvalid(errors)
    fields = {alias: name for name, alias in SETTINGS_NUMBERS.items()}
    return validated(CalloutSettingsUpdate, body, fields)


# -- API clients and users ----------------------------------------------------------------------

ROLES = tuple(role.value for role in Role)


def role_field(form: FormData) -> Role:
    try:
        return Role(str(form.get("role", "")))
    except ValueError:
        raise FormInvalid({"role": "Choose one of the roles"}) from None


def auth_refusal(error: ZuoraError, field_name: str) -> FormInvalid:
    """The auth service's refusal: a role it may not grant beside the role, a weak password
    beside the password, the rest beside ``field_name``."""
    if isinstance(error, PermissionDenied):
        return FormInvalid({"role": str(error)})
    if isinstance(error, WeakPassword):
        return FormInvalid({"password": str(error)})
    return FormInvalid({field_name: str(error)})
