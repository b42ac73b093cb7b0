"""``/console``: signing in and out, and the routers of the console's pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from asyncgate.auth import service as auth_service
from asyncgate.console import csrf, sessions, throttle
from asyncgate.console.dependencies import (
    CurrentUser,
    console_state,
    pages_router,
    protect_sign_in_form,
)
from asyncgate.console.rendering import page
from asyncgate.console.routing import PREFIX, SignInRoute, local_target
from asyncgate.console.throttle import TooManySignIns
from asyncgate.http.errors import AuthenticationFailed
from asyncgate.http.routing import Session

DEFAULT_TENANT = "default"

public = APIRouter(
    prefix=PREFIX, route_class=SignInRoute, dependencies=[Depends(protect_sign_in_form)]
)
router = pages_router()


def _sign_in_page(
    request: Request,
    target: str,
    *,
    tenant: str = DEFAULT_TENANT,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in form, with a fresh token whose nonce goes in the sign-in cookie."""
    state = console_state(request)
    nonce, token = state.sign_in_tokens.issue()
    context = {
        "csrf_token": token,
        "next": target,
        "tenant": tenant,
        "email": email,
        "error": error,
    }
    response = page(request, "sign_in.html", context, status=status, headers=headers)
    state.policy.cookies.set(response, csrf.SIGN_IN_COOKIE, nonce)
    return response


@public.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, local_target(next))


@public.post("/sign-in")
async def sign_in(
    request: Request,
    tenant: Annotated[str, Form()] = DEFAULT_TENANT,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = PREFIX,
) -> Response:
    state = console_state(request)
    target = local_target(next)
    address = request.client.host if request.client else None
    keys = (throttle.user_key(tenant, email), throttle.address_key(address))
    try:
        state.throttle.check(keys)
    except TooManySignIns as refusal:
        return _sign_in_page(
            request,
            target,
            tenant=tenant,
            email=email,
            error=str(refusal),
            status=429,
            headers=refusal.headers,
        )
    database = request.app.state.database
    try:
        async with database.read_transaction() as session:
            user = await auth_service.authenticate_user(
                session, tenant_name=tenant, email=email, password=password
            )
    except AuthenticationFailed as failure:
        state.throttle.failed(keys)
        return _sign_in_page(
            request, target, tenant=tenant, email=email, error=str(failure), status=401
        )
    state.throttle.succeeded(keys[0])
    async with database.transaction() as session:
        token = await sessions.start_session(session, user, state.policy)
    response = RedirectResponse(target, status_code=303)
    state.policy.cookies.set(response, sessions.COOKIE, token)
    state.policy.cookies.clear(response, csrf.SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: Session, user: CurrentUser) -> Response:
    await sessions.end_session(session, user.session_id)
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    console_state(request).policy.cookies.clear(response, sessions.COOKIE)
    return response
