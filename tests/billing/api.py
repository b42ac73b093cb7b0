"""Small helpers that drive the accounts and contacts API the way a client does."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.contacts.models import Contact
from asyncgate.db.engine import Database
from tests.factories import TenantContext

OBJECT_ID = re.compile(r"^[0-9a-f]{32}$")


def contact_body(**overrides: Any) -> dict[str, Any]:
    return {"firstName": "Ada", "lastName": "Lovelace", "workEmail": "ada@example.com", **overrides}


def account_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Analytical Engines",
        "currency": "USD",
        "billToContact": contact_body(),
        **overrides,
    }


async def create_account(
    client: httpx.AsyncClient, tenant: TenantContext, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/accounts", json=account_body(**overrides), headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def get_account(client: httpx.AsyncClient, tenant: TenantContext, key: str) -> dict[str, Any]:
    response = await client.get(f"/v1/accounts/{key}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def create_contact(
    client: httpx.AsyncClient, tenant: TenantContext, account_id: str, **overrides: Any
) -> dict[str, Any]:
    body = contact_body(accountId=account_id, firstName="Charles", lastName="Babbage", **overrides)
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def get_contact(
    client: httpx.AsyncClient, tenant: TenantContext, contact_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def stored_rows(database: Database, tenant: TenantContext) -> tuple[int, int]:
    """How many accounts and contacts the tenant has in the database."""
    async with database.transaction() as session:
        accounts = await session.scalar(
            select(func.count()).select_from(Account).where(Account.tenant_id == tenant.tenant_id)
        )
        contacts = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.tenant_id == tenant.tenant_id)
        )
    return accounts, contacts


def assert_refused(response: httpx.Response, status: int, category: int) -> dict[str, Any]:
    """A Zuora error answer with this HTTP status and, in its first reason, this category."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert len(str(body["reasons"][0]["code"])) == 8
    assert body["reasons"][0]["code"] % 100 == category, body
    return body
