"""Users: the tenant's console users, creating one, changing a role, disabling or enabling,
through the services the ``asyncgate users`` command calls. A Tenant administrator's page
only; the tenant always keeps an active Tenant administrator."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from asyncgate.auth import service
from asyncgate.console.dependencies import TenantAdministrator, pages_router
from asyncgate.console.forms import FORM_ERROR, ROLES, FormInvalid, auth_refusal, role_field
from asyncgate.console.rendering import page
from asyncgate.console.routing import PREFIX, RolledBack
from asyncgate.console.sessions import SignedIn
from asyncgate.http.errors import ZuoraError
from asyncgate.http.routing import Session

router = pages_router("/users")

LIST_PAGE = f"{PREFIX}/users"


async def _users_page(
    request: Request,
    session: Session,
    user: SignedIn,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "users": await service.list_users(session, user.tenant_id),
        "roles": ROLES,
        "values": values or {"email": "", "role": ROLES[-1]},
        "errors": errors or {},
    }
    return page(request, "auth/users.html", context, status=status)


async def _refused(
    request: Request,
    session: Session,
    user: SignedIn,
    error: ZuoraError,
    values: dict[str, Any] | None = None,
) -> RolledBack:
    """The users page with the refusal: beside the creation form's field when ``values`` are
    the form's, above the list otherwise."""
    field_name = "email" if values is not None else FORM_ERROR
    invalid = auth_refusal(error, field_name)
    return RolledBack(
        await _users_page(
            request, session, user, values=values, errors=invalid.errors, status=error.status
        )
    )


def _done(notice: str) -> Response:
    return RedirectResponse(f"{LIST_PAGE}?notice={notice}", status_code=303)


@router.get("")
async def users_page(request: Request, session: Session, user: TenantAdministrator) -> Response:
    return await _users_page(request, session, user)


@router.post("")
async def create_user(request: Request, session: Session, user: TenantAdministrator) -> Response:
    form = await request.form()
    values = {"email": str(form.get("email", "")).strip(), "role": str(form.get("role", ""))}
    try:
        role = role_field(form)
    except FormInvalid as invalid:
        refused = await _users_page(
            request, session, user, values=values, errors=invalid.errors, status=400
        )
        raise RolledBack(refused) from None
    try:
        tenant = await service.get_tenant(session, user.tenant_id)
        await service.create_user(
            session,
            tenant,
            email=values["email"],
            password=str(form.get("password", "")),
            role=role,
        )
    except ZuoraError as error:
        raise await _refused(request, session, user, error, values) from None
    return _done("user-created")


@router.post("/{user_id}/role")
async def change_role(
    user_id: str, request: Request, session: Session, user: TenantAdministrator
) -> Response:
    form = await request.form()
    try:
        role = role_field(form)
        await service.change_role(session, user.tenant_id, user_id, role)
    except FormInvalid as invalid:
        errors = {FORM_ERROR: invalid.errors["role"]}
        refused = await _users_page(request, session, user, errors=errors, status=400)
        raise RolledBack(refused) from None
    except ZuoraError as error:
        raise await _refused(request, session, user, error) from None
    return _done("role-changed")


@router.post("/{user_id}/active")
async def set_active(
    user_id: str, request: Request, session: Session, user: TenantAdministrator
) -> Response:
    active = (await request.form()).get("active") == "true"
    try:
        await service.set_user_active(session, user.tenant_id, user_id, active=active)
    except ZuoraError as error:
        raise await _refused(request, session, user, error) from None
    return _done("user-enabled" if active else "user-disabled")
