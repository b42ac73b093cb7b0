"""Notification shapes with Zuora's JSON names (zuora-sdk's ``PostPublicNotificationDefinition
Request``, ``PutPublicNotificationDefinitionRequest``, ``GetPublicNotificationDefinitionResponse``,
``GetCalloutHistoryVOsType``), and the callout settings, which are asyncgate's own.

Bodies take the declared names only: anything else is an unknown field. ``filterRule``,
``filterRuleParams``, ``emailTemplateId`` and ``associatedAccount`` are validated as the SDK
declares them, stored, and answered exactly as sent; asyncgate acts on none of them (it delivers
every event of the definition's type and sends no email).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_serializer,
)

from asyncgate.http.validation import NullRefusing
from asyncgate.notifications.models import (
    MAX_NAME_LENGTH,
    MAX_REFERENCE_LENGTH,
    MAX_URL_LENGTH,
    Callout,
    CalloutAttempt,
    CalloutSettings,
    NotificationDefinition,
)
from asyncgate.notifications.outbox import EventType

EVENT_TYPE_NAMESPACE = "user.notification"

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]
Description = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
AuthField = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
CalloutUrl = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]
HttpMethod = Literal["GET", "PUT", "POST", "DELETE"]
CalloutParams = dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], str]
Reference = Annotated[str, StringConstraints(max_length=MAX_REFERENCE_LENGTH)]
FilterRuleParams = dict[str, str]
# zuora-sdk's ``FilterRuleParameterDefinitionValueType``.
FilterValueType = Literal[
    "STRING",
    "BYTE",
    "SHORT",
    "CHARACTER",
    "INTEGER",
    "LONG",
    "FLOAT",
    "DOUBLE",
    "BOOLEAN",
    "BIG_INTEGER",
    "BIG_DECIMAL",
    "LOCAL_DATE",
    "LOCAL_DATE_TIME",
    "TIMESTAMP",
    "BYTE_ARRAY",
    "SHORT_ARRAY",
    "CHARACTER_ARRAY",
    "INTEGER_ARRAY",
    "FLOAT_ARRAY",
    "DOUBLE_ARRAY",
    "BOOLEAN_ARRAY",
    "STRING_ARRAY",
    "BIG_INTEGER_ARRAY",
    "BIG_DECIMAL_ARRAY",
    "LOCAL_DATE_ARRAY",
    "LOCAL_DATE_TIME_ARRAY",
    "TIMESTAMP_ARRAY",
]
# Zuora's bounds of a tenant's callout settings.
MAX_ATTEMPTS_LIMIT = 5
MAX_INTERVAL_MINUTES = 1440


class Body(NullRefusing):
    """A request body: Zuora's names only, every other field refused. Booleans and numbers
    are strict, as the SDK declares them: ``"yes"`` is no boolean, ``"5"`` no number. Fields
    named in ``not_nullable`` may be left out but not sent as ``null``."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


class ResponseShape(BaseModel):
    """A response body, or a part of one: built by Python name, written with Zuora's names."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


# -- requests -------------------------------------------------------------------------------------


class CalloutAuth(Body):
    """Basic-auth credentials. The password is write-only: answers never carry it."""

    username: AuthField | None = None
    password: AuthField | None = None
    domain: AuthField | None = None
    preemptive: StrictBool = False


class FilterRuleParameter(Body):
    """One parameter of a filter rule (zuora-sdk's ``FilterRuleParameterDefinition``)."""

    description: Description | None = None
    display_name: Description | None = Field(None, alias="displayName")
    options: list[str] | None = None
    value_type: FilterValueType | None = Field(None, alias="valueType")


class FilterRule(Body):
    """zuora-sdk's ``PostPublicNotificationDefinitionRequestFilterRule`` (its ``Put...`` twin
    is the same). Stored and answered as sent; the condition is not evaluated."""

    condition: str
    description: Description | None = None
    parameters: dict[str, FilterRuleParameter]

    def as_sent(self) -> dict[str, Any]:
        """The rule as the client wrote it: its names, and only the fields it sent."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class CalloutFields(Body):
    """A callout as ``PUT`` sends it: the whole callout, which replaces the stored one."""

    name: Name
    callout_baseurl: CalloutUrl = Field(alias="calloutBaseurl")
    http_method: HttpMethod = Field(alias="httpMethod")
    required_auth: StrictBool = Field(alias="requiredAuth")
    active: StrictBool = True
    callout_auth: CalloutAuth | None = Field(None, alias="calloutAuth")
    callout_retry: StrictBool = Field(True, alias="calloutRetry")
    callout_params: CalloutParams = Field(default_factory=dict, alias="calloutParams")
    description: Description | None = None


class CalloutCreate(CalloutFields):
    event_type_name: EventType = Field(alias="eventTypeName")


class NotificationDefinitionCreate(Body):
    """``POST /notifications/notification-definitions``."""

    name: Name
    event_type_name: EventType = Field(alias="eventTypeName")
    event_type_namespace: Literal["user.notification"] | None = Field(
        None, alias="eventTypeNamespace"
    )
    active: StrictBool = True
    callout_active: StrictBool = Field(False, alias="calloutActive")
    email_active: StrictBool = Field(False, alias="emailActive")
    communication_profile_id: str | None = Field(None, alias="communicationProfileId")
    description: Description | None = None
    callout: CalloutCreate | None = None
    filter_rule: FilterRule | None = Field(None, alias="filterRule")
    filter_rule_params: FilterRuleParams | None = Field(None, alias="filterRuleParams")
    email_template_id: Reference | None = Field(None, alias="emailTemplateId")
    associated_account: Reference | None = Field(None, alias="associatedAccount")


class NotificationDefinitionUpdate(Body):
    """``PUT /notifications/notification-definitions/{id}``: changes the fields sent; only
    ``description``, ``filterRule``, ``filterRuleParams``, ``emailTemplateId`` and
    ``associatedAccount`` may be cleared with null."""

    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {"name", "active", "callout_active", "email_active", "communication_profile_id", "callout"}
    )

    name: Name | None = None
    active: StrictBool | None = None
    callout_active: StrictBool | None = Field(None, alias="calloutActive")
    email_active: StrictBool | None = Field(None, alias="emailActive")
    communication_profile_id: str | None = Field(None, alias="communicationProfileId")
    description: Description | None = None
    callout: CalloutFields | None = None
    filter_rule: FilterRule | None = Field(None, alias="filterRule")
    filter_rule_params: FilterRuleParams | None = Field(None, alias="filterRuleParams")
    email_template_id: Reference | None = Field(None, alias="emailTemplateId")
    associated_account: Reference | None = Field(None, alias="associatedAccount")


class CalloutSettingsUpdate(Body):
    """``PUT /notifications/callout-settings``: changes the fields sent, none to null."""

    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {"max_attempts", "min_interval_minutes", "parse_response_content"}
    )

    max_attempts: StrictInt | None = Field(None, ge=1, le=MAX_ATTEMPTS_LIMIT, alias="maxAttempts")
    min_interval_minutes: StrictInt | None = Field(
        None, ge=1, le=MAX_INTERVAL_MINUTES, alias="minIntervalMinutes"
    )
    parse_response_content: StrictBool | None = Field(None, alias="parseResponseContent")


# -- answers --------------------------------------------------------------------------------------


class CalloutAuthOut(ResponseShape):
    username: str | None
    domain: str | None
    preemptive: bool


class CalloutOut(ResponseShape):
    """A definition's callout (zuora-sdk's ``GetPublicNotificationDefinitionResponseCallout``)."""

    id: str
    active: bool
    callout_auth: CalloutAuthOut | None = Field(alias="calloutAuth")
    callout_baseurl: str = Field(alias="calloutBaseurl")
    callout_params: dict[str, str] = Field(alias="calloutParams")
    callout_retry: bool = Field(alias="calloutRetry")
    description: str | None
    event_type_name: str = Field(alias="eventTypeName")
    http_method: str = Field(alias="httpMethod")
    name: str
    required_auth: bool = Field(alias="requiredAuth")
    created_by: str | None = Field(alias="createdBy")
    updated_on: datetime = Field(alias="updatedOn")

    @classmethod
    def of(cls, callout: Callout, event_type_name: str) -> CalloutOut:
        has_auth = callout.username is not None or callout.domain is not None
        return cls(
            id=callout.id,
            active=callout.active,
            callout_auth=CalloutAuthOut(
                username=callout.username, domain=callout.domain, preemptive=callout.preemptive
            )
            if has_auth
            else None,
            callout_baseurl=callout.url,
            callout_params=callout.params,
            callout_retry=callout.retry,
            description=callout.description,
            event_type_name=event_type_name,
            http_method=callout.http_method,
            name=callout.name,
            required_auth=callout.required_auth,
            created_by=callout.created_by,
            updated_on=callout.updated_at,
        )


class NotificationDefinitionOut(ResponseShape):
    """One definition, as create, get, update and list answer it."""

    id: str
    name: str
    description: str | None
    event_type_name: str = Field(alias="eventTypeName")
    event_type_namespace: str = Field(EVENT_TYPE_NAMESPACE, alias="eventTypeNamespace")
    active: bool
    callout_active: bool = Field(alias="calloutActive")
    email_active: bool = Field(False, alias="emailActive")
    communication_profile_id: str = Field(alias="communicationProfileId")
    callout: CalloutOut | None
    filter_rule: dict[str, Any] | None = Field(alias="filterRule")
    filter_rule_params: dict[str, str] | None = Field(alias="filterRuleParams")
    email_template_id: str | None = Field(alias="emailTemplateId")
    associated_account: str | None = Field(alias="associatedAccount")
    created_by: str | None = Field(alias="createdBy")
    created_on: datetime = Field(alias="createdOn")
    updated_by: str | None = Field(alias="updatedBy")
    updated_on: datetime = Field(alias="updatedOn")

    @classmethod
    def of(cls, definition: NotificationDefinition) -> NotificationDefinitionOut:
        callout = definition.callout
        return cls(
            id=definition.id,
            name=definition.name,
            description=definition.description,
            event_type_name=definition.event_type_name,
            active=definition.active,
            callout_active=definition.callout_active,
            communication_profile_id=definition.profile_id,
            callout=None if callout is None else CalloutOut.of(callout, definition.event_type_name),
            filter_rule=definition.filter_rule,
            filter_rule_params=definition.filter_rule_params,
            email_template_id=definition.email_template_id,
            associated_account=definition.associated_account,
            created_by=definition.created_by,
            created_on=definition.created_at,
            updated_by=definition.updated_by,
            updated_on=definition.updated_at,
        )


class NotificationDefinitionPage(ResponseShape):
    """``GET /notifications/notification-definitions``: ``next`` is the next page's URI, or
    null on the last page."""

    next: str | None
    data: list[NotificationDefinitionOut]


class CalloutSettingsOut(ResponseShape):
    max_attempts: int = Field(alias="maxAttempts")
    min_interval_minutes: int = Field(alias="minIntervalMinutes")
    parse_response_content: bool = Field(alias="parseResponseContent")
    signing_secret_created_on: datetime | None = Field(alias="signingSecretCreatedOn")
    previous_signing_secret_expires_on: datetime | None = Field(
        alias="previousSigningSecretExpiresOn"
    )

    @classmethod
    def of(cls, settings: CalloutSettings, now: datetime) -> CalloutSettingsOut:
        return cls(
            max_attempts=settings.max_attempts,
            min_interval_minutes=settings.min_interval_minutes,
            parse_response_content=settings.parse_response_content,
            signing_secret_created_on=settings.signing_secret_created_at,
            previous_signing_secret_expires_on=settings.previous_signing_secret_expires_at
            if settings.previous_secret_signs(now)
            else None,
        )


class SigningSecretOut(ResponseShape):
    """The new signing secret, shown this once."""

    secret: str
    created_on: datetime = Field(alias="createdOn")
    previous_secret_expires_on: datetime | None = Field(alias="previousSecretExpiresOn")


class CalloutHistoryOut(ResponseShape):
    """One attempt (zuora-sdk's ``GetCalloutHistoryVOType``, whose fields are all strings), with
    asyncgate's ``id`` (what resend takes), ``notificationId`` and ``error``."""

    id: str
    notification_id: str = Field(alias="notificationId")
    attempted_num: str = Field(alias="attemptedNum")
    create_time: datetime = Field(alias="createTime")
    event_category: str = Field(alias="eventCategory")
    event_context: str = Field(alias="eventContext")
    notification: str
    request_method: str = Field(alias="requestMethod")
    request_url: str = Field(alias="requestUrl")
    response_code: str | None = Field(alias="responseCode")
    response_content: str | None = Field(alias="responseContent")
    error: str | None

    @classmethod
    def of(
        cls,
        attempt: CalloutAttempt,
        event_category: str,
        payload: dict,
        *,
        include_response_content: bool,
    ) -> CalloutHistoryOut:
        error = None
        if attempt.error_class is not None:
            error = f"{attempt.error_class}: {attempt.error_message}"
        return cls(
            id=attempt.id,
            notification_id=attempt.delivery_id,
            attempted_num=str(attempt.attempt),
            create_time=attempt.completed_at,
            event_category=event_category,
            event_context=orjson.dumps(payload).decode(),
            notification=attempt.notification_name,
            request_method=attempt.request_method,
            request_url=attempt.request_url,
            response_code=None if attempt.response_code is None else str(attempt.response_code),
            response_content=attempt.response_content if include_response_content else None,
            error=error,
        )


# The fields of a history row that Zuora's rows lack.
HISTORY_EXTENSIONS = ("id", "notificationId", "error")


class CalloutHistoryPage(ResponseShape):
    """``GET /v1/notification-history/callout``: ``nextPage`` only when there is one."""

    success: bool = True
    callout_histories: list[CalloutHistoryOut] = Field(alias="calloutHistories")
    next_page: str | None = Field(None, alias="nextPage")
    # False with ASYNCGATE_ZUORA_STRICT: rows carry Zuora's fields alone.
    extensions: bool = Field(True, exclude=True)

    @model_serializer(mode="wrap")
    def _as_zuora_answers(self, handler: SerializerFunctionWrapHandler) -> dict:
        dumped = handler(self)
        if dumped.get("nextPage") is None:
            dumped.pop("nextPage", None)
        if not self.extensions:
            for row in dumped["calloutHistories"]:
                for name in HISTORY_EXTENSIONS:
                    row.pop(name, None)
        return dumped


class ResendRefusalOut(ResponseShape):
    """Why one history ID was not resent (zuora-sdk's
    ``ResendCalloutNotificationsFailedResponseValue``)."""

    code: str
    message: str
