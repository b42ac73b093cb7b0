"""``POST /oauth/token``: Zuora's OAuth client-credentials grant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel

from asyncgate.auth import service
from asyncgate.http.errors import InvalidValue, Resource
from asyncgate.http.routing import Session, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, tags=["OAuth"])

GRANT_TYPE = "client_credentials"
SCOPE = "user.read user.write tenant"
# RFC 6749 section 5.1: token answers must never be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str
    jti: str


@router.post("/oauth/token", response_model=TokenResponse)
async def create_token(
    request: Request,
    response: Response,
    session: Session,
    # An empty field is a missing one (category 22); a grant type other than ours, category 20.
    client_id: Annotated[str, Form(min_length=1)],
    client_secret: Annotated[str, Form(min_length=1)],
    grant_type: Annotated[str, Form(json_schema_extra={"enum": [GRANT_TYPE]})],
) -> TokenResponse:
    if grant_type != GRANT_TYPE:
        raise InvalidValue(f"grant_type must be {GRANT_TYPE}", resource=Resource.AUTH)
    issued = await service.issue_token(
        session,
        client_id=client_id,
        client_secret=client_secret,
        lifetime=request.app.state.settings.token_lifetime,
    )
    response.headers.update(NO_STORE)
    return TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=SCOPE, jti=issued.jti
    )
