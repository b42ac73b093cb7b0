"""Communication profiles, notification definitions with their callouts, the tenants' callout
settings, and callout deliveries with the log of their attempts (the callout history).

Secrets (callout passwords, signing secrets) are stored encrypted by the app's
:class:`~asyncgate.secretbox.SecretBox`; the columns holding them end in ``_sealed``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin, UTCDateTime

MAX_NAME_LENGTH = 255
MAX_URL_LENGTH = 2048
# emailTemplateId and associatedAccount: an ID, or a name such as ``Account.Id``.
MAX_REFERENCE_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 100


class CommunicationProfile(IdMixin, TenantMixin, TimestampMixin, Base):
    """A group of notification definitions. Every tenant has one default profile."""

    __tablename__ = "communication_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index(
            "uq_communication_profiles_default",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class NotificationDefinition(IdMixin, TenantMixin, TimestampMixin, Base):
    """What to do when an event of a type happens: here, send a callout."""

    __tablename__ = "notification_definitions"
    __table_args__ = (
        UniqueConstraint("profile_id", "name"),
        Index("ix_notification_definitions_event", "tenant_id", "event_type_name"),
    )

    profile_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("communication_profiles.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    event_type_name: Mapped[str] = mapped_column(String(MAX_EVENT_TYPE_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    callout_active: Mapped[bool] = mapped_column(Boolean, default=False)
    # Stored and answered as the client sent them; no event is filtered and no email sent.
    filter_rule: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )
    filter_rule_params: Mapped[dict[str, str] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )
    email_template_id: Mapped[str | None] = mapped_column(
        String(MAX_REFERENCE_LENGTH), default=None
    )
    associated_account: Mapped[str | None] = mapped_column(
        String(MAX_REFERENCE_LENGTH), default=None
    )
    # Principals' IDs (the OAuth client's, or the user's).
    created_by: Mapped[str | None] = mapped_column(String(32), default=None)
    updated_by: Mapped[str | None] = mapped_column(String(32), default=None)

    callout: Mapped[Callout | None] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class Callout(IdMixin, TimestampMixin, Base):
    """The HTTP request a definition sends; at most one per definition, and its event type is
    the definition's. A callout a definition's update replaces is written over: it keeps its ID,
    ``created_by`` and ``created_at``."""

    __tablename__ = "callouts"

    definition_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("notification_definitions.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    url: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    http_method: Mapped[str] = mapped_column(String(6))
    required_auth: Mapped[bool] = mapped_column(Boolean)
    username: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    password_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    domain: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    preemptive: Mapped[bool] = mapped_column(Boolean, default=False)
    retry: Mapped[bool] = mapped_column(Boolean, default=True)
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(String(MAX_NAME_LENGTH), default=None)
    # The principal that made the callout (the OAuth client's ID, or the user's).
    created_by: Mapped[str | None] = mapped_column(String(32), default=None)


class CalloutSettings(TimestampMixin, Base):
    """A tenant's delivery policy and signing secrets; tenants without a row have the defaults
    of the service's settings."""

    __tablename__ = "callout_settings"

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    max_attempts: Mapped[int] = mapped_column(Integer)
    min_interval_minutes: Mapped[int] = mapped_column(Integer)
    parse_response_content: Mapped[bool] = mapped_column(Boolean, default=False)
    signing_secret_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    signing_secret_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The secret a rotation replaced, which signs beside the new one until it expires.
    previous_signing_secret_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    previous_signing_secret_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=None
    )

    def previous_secret_signs(self, now: datetime) -> bool:
        """Whether the secret a rotation replaced still signs beside the current one."""
        expires = self.previous_signing_secret_expires_at
        return (
            self.previous_signing_secret_sealed is not None
            and expires is not None
            and now < expires
        )


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at ``next_attempt_at``
    DELIVERING = "delivering"  # a sender holds its lease and is sending it
    DELIVERED = "delivered"
    FAILED = "failed"


class CalloutDelivery(TenantMixin, Base):
    """One event to deliver through one definition's callout: its state machine.

    States: ``pending`` -> ``delivering`` -> ``delivered`` | ``failed``; ``delivering`` ->
    ``pending`` (a retry, or a lease that expired under a sender that died); ``delivered`` |
    ``failed`` -> ``pending`` (a resend). Its ID is the ``Zuora-Notification-Id`` (and
    ``webhook-id``) of every attempt. ``attempts`` counts the rows of its attempt log, and is
    written with each of them.
    """

    __tablename__ = "callout_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "definition_id"),
        Index(
            "ix_callout_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index(
            "ix_callout_deliveries_leases",
            "lease_expires_at",
            postgresql_where=text("state = 'delivering'"),
            sqlite_where=text("state = 'delivering'"),
        ),
        Index("ix_callout_deliveries_object", "tenant_id", "object_id"),
    )
    tenant_id_indexed = False  # ix_callout_deliveries_object leads with it

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("outbox_events.id", ondelete="CASCADE")
    )
    # Null once the definition is deleted: its history stays.
    definition_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("notification_definitions.id", ondelete="SET NULL")
    )
    event_type: Mapped[str] = mapped_column(String(MAX_EVENT_TYPE_LENGTH))
    object_id: Mapped[str] = mapped_column(String(64))

    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    # Set when the delivery is made (1 without calloutRetry) and by a resend (one more).
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalloutAttempt(IdMixin, TenantMixin, Base):
    """One attempt of a delivery, as it was sent and answered: a row of the callout history,
    never changed once written. Its ID is the one resend takes."""

    __tablename__ = "callout_attempts"
    __table_args__ = (Index("ix_callout_attempts_tenant_completed", "tenant_id", "completed_at"),)
    tenant_id_indexed = False  # ix_callout_attempts_tenant_completed leads with it

    delivery_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("callout_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    notification_name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    request_method: Mapped[str] = mapped_column(String(6))
    request_url: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    response_code: Mapped[int | None] = mapped_column(Integer)
    # The answer's body, at most 60 KB of it.
    response_content: Mapped[str | None] = mapped_column(Text)
    # Why the attempt failed: a class (``timeout``, ``http_status``...) and the detail.
    error_class: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
