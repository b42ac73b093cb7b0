"""``/v1/accounts``: create, read, update and delete customer accounts (key = ID or number)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

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
from asyncgate.http.answer import Answer
from asyncgate.http.bulk import bulk_handler
from asyncgate.http.routing import Session, UnitOfWorkRoute, declare_resource

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Accounts"])


@router.post("/accounts")
async def create_account(
    request: Request, body: AccountCreateRequest, session: Session, principal: CurrentPrincipal
) -> AccountCreateResponse:
    account = await service.create_account(session, principal.tenant_id, body)
    declare_resource(request, account.id)
    return AccountCreateResponse.of(account)


@bulk_handler("POST", "/v1/accounts")
async def create_accounts(
    session: AsyncSession, tenant_id: str, bodies: list[bytes]
) -> list[Answer | None]:
    """``POST /v1/accounts`` for many stored requests at once (see ``http.bulk``); an
    invalid body is declined, so the route itself answers it."""
    batch = [_valid_account(body) for body in bodies]
    created = iter(
        await service.create_accounts(session, tenant_id, [data for data in batch if data])
    )
    answers: list[Answer | None] = []
    for data in batch:
        if data is None:
            answers.append(None)
            continue
        account = next(created)
        body = AccountCreateResponse.of(account).model_dump_json(by_alias=True).encode()
        answers.append(Answer(status=200, body=body, resource_id=account.id))
    return answers


def _valid_account(body: bytes) -> AccountCreateRequest | None:
    try:
        return AccountCreateRequest.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


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
