"""``/v1/accounts``: create, read, update and delete customer accounts (key = ID or number)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.accounts import service
from asyncgate.billing.accounts.schemas import (
    AccountCreateRequest,
    AccountCreateResponse,
    AccountDetailResponse,
    AccountUpdate,
    DeleteAccountResponse,
)
from asyncgate.billing.schemas import CommonResponse
from asyncgate.db.base import new_id
from asyncgate.http.routing import Session, UnitOfWorkRoute, declare_resource

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Accounts"])


@router.post("/accounts")
async def create_account(
    request: Request, body: AccountCreateRequest, session: Session, principal: CurrentPrincipal
) -> AccountCreateResponse:
    account = await service.create_account(session, principal.tenant_id, body)
    declare_resource(request, account.id)
    return AccountCreateResponse.of(account)


@router.get("/accounts/{account_key}")
async def get_account(
    account_key: str, session: Session, principal: CurrentPrincipal
) -> AccountDetailResponse:
    account = await service.get_account(
        session, principal.tenant_id, account_key, with_contacts=True
    )
    return AccountDetailResponse.of(account)


@router.put("/accounts/{account_key}")
async def update_account(
    request: Request,
    account_key: str,
    body: AccountUpdate,
    session: Session,
    principal: CurrentPrincipal,
) -> CommonResponse:
    account = await service.update_account(session, principal.tenant_id, account_key, body)
    declare_resource(request, account.id)
    return CommonResponse()


@router.delete("/accounts/{account_key}")
async def delete_account(
    request: Request, account_key: str, session: Session, principal: CurrentPrincipal
) -> DeleteAccountResponse:
    account = await service.delete_account(session, principal.tenant_id, account_key)
    declare_resource(request, account.id)
    return DeleteAccountResponse(id=account.id, job_id=new_id())
