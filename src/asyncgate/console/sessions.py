"""Console sessions, kept server-side.

Server-side rather than signed cookies: a session must end for good, in every process at
once, when its user signs out, is disabled or goes idle, and a signed cookie stays valid until
it expires whatever happens meanwhile. The cookie holds 256 random bits and nothing else; the
database keeps their SHA-256 (so a copy of the table opens no session) with the user, the
session's CSRF token and its times. The user's role is read with the session on every request,
so a changed role applies at once.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (other sites' forms and
scripts do not carry it) and ``Secure`` unless ``ASYNCGATE_CONSOLE_SECURE_COOKIES`` is off or
``--dev`` is on; a secure cookie takes the ``__Host-`` prefix, which browsers only accept for a
cookie that is secure, for the whole host and for no other. It has no expiry of its own, so the
browser forgets it when it closes; the server ends a session after
``ASYNCGATE_CONSOLE_SESSION_IDLE_TIMEOUT`` without a request and
``ASYNCGATE_CONSOLE_SESSION_LIFETIME`` after sign-in. Every sign-in makes a new session ID, so
an ID planted before sign-in is worth nothing after it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from asyncgate.auth.models import Tenant, User
from asyncgate.auth.principal import Principal
from asyncgate.auth.roles import Role
from asyncgate.auth.secrets import token_digest
from asyncgate.config import Settings
from asyncgate.console import csrf
from asyncgate.console.models import ConsoleSession
from asyncgate.db.base import utcnow

COOKIE = "asyncgate-console"
TOKEN_BYTES = 32
# How stale ``last_seen_at`` may be before a request writes it: idle expiry is this coarse,
# and reading a page writes at most once a minute.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    secure: bool

    def name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    def set(self, response: Response, base: str, value: str) -> None:
        response.set_cookie(
            self.name(base), value, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def clear(self, response: Response, base: str) -> None:
        response.delete_cookie(
            self.name(base), path="/", secure=self.secure, httponly=True, samesite="lax"
        )


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    cookies: CookiePolicy
    idle_timeout: timedelta
    lifetime: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            CookiePolicy(settings.console_cookies_secure),
            settings.console_session_idle_timeout,
            settings.console_session_lifetime,
        )


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The user a request's session belongs to."""

    session_id: str
    csrf_token: str
    tenant_id: str
    tenant_name: str
    user_id: str
    email: str
    role: Role
    last_seen_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(tenant_id=self.tenant_id, role=self.role, user_id=self.user_id)

    @property
    def may_change(self) -> bool:
        """Administrators change; a Standard user only looks."""
        return self.principal.is_administrator

    @property
    def is_tenant_administrator(self) -> bool:
        return self.role == Role.TENANT_ADMINISTRATOR


async def start_session(session: AsyncSession, user: User, policy: SessionPolicy) -> str:
    """A new session of ``user``; returns the cookie's value, which is never stored. Sessions
    that have ended, anyone's, are deleted meanwhile."""
    now = utcnow()
    await session.execute(
        delete(ConsoleSession).where(
            or_(
                ConsoleSession.expires_at <= now,
                ConsoleSession.last_seen_at <= now - policy.idle_timeout,
            )
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ConsoleSession(
            tenant_id=user.tenant_id,
            token_hash=token_digest(token),
            user_id=user.id,
            csrf_token=csrf.new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime,
        )
    )
    await session.flush()
    return token


async def find_session(
    session: AsyncSession, token: str, policy: SessionPolicy, now: datetime
) -> SignedIn | None:
    """The live session the cookie ``token`` opens, of an active user; None otherwise."""
    row = (
        await session.execute(
            select(ConsoleSession, User, Tenant.name)
            .join(User, User.id == ConsoleSession.user_id)
            .join(Tenant, Tenant.id == ConsoleSession.tenant_id)
            .where(
                ConsoleSession.token_hash == token_digest(token),
                ConsoleSession.expires_at > now,
                ConsoleSession.last_seen_at > now - policy.idle_timeout,
                User.active.is_(True),
            )
        )
    ).one_or_none()
    if row is None:
        return None
    stored, user, tenant_name = row
    return SignedIn(
        session_id=stored.id,
        csrf_token=stored.csrf_token,
        tenant_id=stored.tenant_id,
        tenant_name=tenant_name,
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        last_seen_at=stored.last_seen_at,
    )


def needs_touch(signed_in: SignedIn, now: datetime) -> bool:
    return now - signed_in.last_seen_at >= TOUCH_INTERVAL


async def touch_session(session: AsyncSession, session_id: str, now: datetime) -> None:
    """Pushes the session's idle end back."""
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=now)
    )


async def end_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))
