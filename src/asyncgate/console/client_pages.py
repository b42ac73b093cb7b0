"""API clients: the tenant's OAuth clients, creating one (its secret on that answer only) and
revoking one, through the services the ``asyncgate clients`` commands call. Administrators
change, anyone of the tenant looks."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from asyncgate.auth import service
from asyncgate.console.dependencies import Changer, CurrentUser, pages_router
from asyncgate.console.forms import ROLES, FormInvalid, auth_refusal, role_field
from asyncgate.console.rendering import page
from asyncgate.console.routing import PREFIX, RolledBack
from asyncgate.console.sessions import SignedIn
from asyncgate.http.errors import ZuoraError
from asyncgate.http.routing import Session

router = pages_router("/clients")

LIST_PAGE = f"{PREFIX}/clients"


async def _clients_page(
    request: Request,
    session: Session,
    user: SignedIn,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    created: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "clients": await service.list_clients(session, user.tenant_id),
        "roles": ROLES,
        "values": values or {"name": "", "role": ROLES[-1]},
        "errors": errors or {},
        "created": created,
    }
    return page(request, "auth/clients.html", context, status=status)


@router.get("")
async def clients_page(request: Request, session: Session, user: CurrentUser) -> Response:
    return await _clients_page(request, session, user)


@router.post("")
async def create_client(request: Request, session: Session, user: Changer) -> Response:
    """The new secret is on this answer only: it is stored hashed, never shown again."""
    form = await request.form()
    values = {"name": str(form.get("name", "")).strip(), "role": str(form.get("role", ""))}
    try:
        role = role_field(form)
        tenant = await service.get_tenant(session, user.tenant_id)
        client, secret = await service.create_client(
            session, tenant, name=values["name"], role=role, granted_by=user.role
        )
    except (FormInvalid, ZuoraError) as error:
        invalid = error if isinstance(error, FormInvalid) else auth_refusal(error, "name")
        status = error.status if isinstance(error, ZuoraError) else 400
        refused = await _clients_page(
            request, session, user, values=values, errors=invalid.errors, status=status
        )
        raise RolledBack(refused) from None
    return await _clients_page(request, session, user, created=(client.client_id, secret))


@router.post("/{client_id}/revoke")
async def revoke_client(
    request: Request, client_id: str, session: Session, user: Changer
) -> Response:
    revoked = await service.revoke_client(session, client_id, tenant_id=user.tenant_id)
    request.app.state.token_cache.forget_client(revoked.id)
    return RedirectResponse(f"{LIST_PAGE}?notice=client-revoked", status_code=303)
