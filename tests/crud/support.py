"""Helpers shared by the CRUD and Actions tests: objects made through the API itself."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from asyncgate.db.engine import Database
from tests.factories import TenantContext


async def create_object(
    client: httpx.AsyncClient, tenant: TenantContext, path: str, fields: dict[str, Any]
) -> str:
    response = await client.post(f"/v1/object/{path}", json=fields, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["Id"]


async def make_account(client: httpx.AsyncClient, tenant: TenantContext, **fields: Any) -> str:
    """A Draft account made by CRUD create (no contacts yet)."""
    fields = {"Name": "Acme", "Currency": "USD", "BillCycleDay": 1, "Status": "Draft", **fields}
    return await create_object(client, tenant, "account", fields)


async def make_contact(
    client: httpx.AsyncClient, tenant: TenantContext, account_id: str, **fields: Any
) -> str:
    fields = {"AccountId": account_id, "FirstName": "Ada", "LastName": "Lovelace", **fields}
    return await create_object(client, tenant, "contact", fields)


async def get_object(
    client: httpx.AsyncClient, tenant: TenantContext, path: str, object_id: str
) -> httpx.Response:
    return await client.get(f"/v1/object/{path}/{object_id}", headers=tenant.headers)


async def query(
    client: httpx.AsyncClient, tenant: TenantContext, text: str, **conf: Any
) -> httpx.Response:
    body: dict[str, Any] = {"queryString": text}
    if conf:
        body["conf"] = conf
    return await client.post("/v1/action/query", json=body, headers=tenant.headers)


async def stored(database: Database, model: type, object_id: str) -> Any:
    """The row as the database holds it now (None when it does not exist)."""
    async with database.transaction() as session:
        return await session.get(model, object_id)


async def count(database: Database, model: type, tenant: TenantContext) -> int:
    """How many rows of ``model`` the tenant has."""
    statement = select(func.count()).select_from(model).where(model.tenant_id == tenant.tenant_id)
    async with database.transaction() as session:
        return await session.scalar(statement)


def crud_error(response: httpx.Response, status: int) -> tuple[str, str]:
    """Asserts Zuora's CRUD error envelope with one error; returns its code and message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Success"] is False
    assert len(body["Errors"]) >= 1
    error = body["Errors"][0]
    assert set(error) == {"Code", "Message"}
    return error["Code"], error["Message"]
