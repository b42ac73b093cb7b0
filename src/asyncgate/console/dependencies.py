"""Who is signed in, what they may do, and the CSRF check every POST passes first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from asyncgate.console import csrf, sessions
from asyncgate.console.routing import PREFIX, ConsoleRoute, SignInRequired
from asyncgate.console.sessions import SessionPolicy, SignedIn
from asyncgate.console.throttle import SignInThrottle
from asyncgate.db.base import utcnow
from asyncgate.http.errors import PermissionDenied, Resource
from asyncgate.http.routing import READ_METHODS, Session


@dataclass(frozen=True, slots=True)
class ConsoleState:
    """What the console keeps on ``app.state.console``."""

    policy: SessionPolicy
    throttle: SignInThrottle
    sign_in_tokens: csrf.SignInTokens


def console_state(request: Request) -> ConsoleState:
    return request.app.state.console


async def signed_in(request: Request, session: Session) -> SignedIn:
    """The request's session, or :class:`SignInRequired`. A page read writes the session's
    last-seen time (at most once a minute) in a short transaction of its own, since its
    own transaction only reads."""
    policy = console_state(request).policy
    token = request.cookies.get(policy.cookies.name(sessions.COOKIE))
    now = utcnow()
    found = token and await sessions.find_session(session, token, policy, now)
    if not found:
        raise SignInRequired()
    if sessions.needs_touch(found, now):
        if request.method in READ_METHODS:
            async with request.app.state.database.transaction() as writer:
                await sessions.touch_session(writer, found.session_id, now)
        else:
            await sessions.touch_session(session, found.session_id, now)
    request.state.signed_in = found
    return found


CurrentUser = Annotated[SignedIn, Depends(signed_in)]


async def protect_forms(request: Request, user: CurrentUser) -> None:
    """Every page needs a session; every POST also its CSRF token."""
    if request.method not in READ_METHODS:
        await csrf.check_form(request, user.csrf_token)


async def protect_sign_in_form(request: Request) -> None:
    """A sign-in POST must bring the token its sign-in cookie's nonce makes."""
    if request.method not in READ_METHODS:
        state = console_state(request)
        nonce = request.cookies.get(state.policy.cookies.name(csrf.SIGN_IN_COOKIE))
        await csrf.check_form(request, nonce and state.sign_in_tokens.token_for(nonce))


async def require_changer(user: CurrentUser) -> SignedIn:
    if not user.may_change:
        raise PermissionDenied(
            "Your role may look but not change: this needs an administrator role",
            resource=Resource.AUTH,
        )
    return user


Changer = Annotated[SignedIn, Depends(require_changer)]


async def require_tenant_administrator(user: CurrentUser) -> SignedIn:
    if not user.is_tenant_administrator:
        raise PermissionDenied(
            "Only a Tenant administrator manages the tenant's users", resource=Resource.AUTH
        )
    return user


TenantAdministrator = Annotated[SignedIn, Depends(require_tenant_administrator)]


def pages_router(prefix: str = "") -> APIRouter:
    """A router of console pages: each needs a session, each POST its CSRF token."""
    return APIRouter(
        prefix=PREFIX + prefix, route_class=ConsoleRoute, dependencies=[Depends(protect_forms)]
    )
