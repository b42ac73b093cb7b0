from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from asyncgate.auth import service
from asyncgate.http.errors import InvalidValue, Resource
from asyncgate.http.routing import Session, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, tags=["OAuth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str
    jti: str


@router.post("/oauth/token", response_model=TokenResponse)
async def create_token(
    request: Request,
    session: Session,
    client_id: Annotated[str, Form()],
    client_secret: Annotated[str, Form()],
    grant_type: Annotated[str, Form()],
) -> TokenResponse:
    if grant_type != "client_credentials":
        raise InvalidValue(
            "grant_type must be client_credentials", resource=Resource.AUTH
        )
    issued = await service.issue_token(
        session,
        client_id=client_id,
        client_secret=client_secret,
        lifetime=request.app.state.settings.token_lifetime,
    )
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        scope="user.read user.write tenant",
        jti=issued.jti,
    )
