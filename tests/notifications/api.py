"""Helpers that drive the notifications API the way a client does."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from sqlalchemy import func, select

from asyncgate.db.engine import Database
from asyncgate.db.models import metadata
from asyncgate.notifications.models import CommunicationProfile, NotificationDefinition
from tests.factories import TenantContext
from tests.http.assertions import assert_zuora_error

DEFINITIONS = "/notifications/notification-definitions"
CALLOUT_SETTINGS = "/notifications/callout-settings"
SIGNING_SECRET = "/notifications/callout-settings/signing-secret"
# A public address, written as a literal so that saving needs no DNS (nothing is sent to it).
PUBLIC_URL = "https://93.184.215.14/callouts/async"
SUCCEEDED = "Async Request Succeeded"
FAILED = "Async Request Failed"


def callout_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Callout for Async Request Succeeded",
        "eventTypeName": SUCCEEDED,
        "calloutBaseurl": PUBLIC_URL,
        "httpMethod": "POST",
        "requiredAuth": True,
        "calloutAuth": {
            "username": "receiver",
            "password": "receiver-password",
            "domain": "example_domain",
            "preemptive": True,
        },
        "active": True,
        "calloutRetry": True,
        **overrides,
    }


def definition_body(**overrides: Any) -> dict[str, Any]:
    """The seed's sample request, with a name and without its placeholder profile ID."""
    return copy.deepcopy(
        {
            "name": "Async request succeeded",
            "description": "Notification sent out when an async request succeeds",
            "eventTypeName": SUCCEEDED,
            "calloutActive": True,
            "callout": callout_body(),
            **overrides,
        }
    )


async def create_definition(
    client: httpx.AsyncClient, tenant: TenantContext, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        DEFINITIONS, json=definition_body(**overrides), headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def get_definition(
    client: httpx.AsyncClient, tenant: TenantContext, definition_id: str
) -> dict[str, Any]:
    response = await client.get(f"{DEFINITIONS}/{definition_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def definitions_of(database: Database, tenant: TenantContext) -> int:
    async with database.read_transaction() as session:
        return await session.scalar(
            select(func.count())
            .select_from(NotificationDefinition)
            .where(NotificationDefinition.tenant_id == tenant.tenant_id)
        )


async def profiles_of(database: Database, tenant: TenantContext) -> list[str]:
    async with database.read_transaction() as session:
        return list(
            await session.scalars(
                select(CommunicationProfile.id).where(
                    CommunicationProfile.tenant_id == tenant.tenant_id
                )
            )
        )


def assert_notifications_error(response: httpx.Response, status: int, category: int) -> dict:
    """Zuora's REST envelope plus the top-level ``code`` and ``message`` the SDK's
    ``CommonErrorResponse`` reads on these endpoints."""
    body = assert_zuora_error(response, status, category)
    assert body["code"] == body["reasons"][0]["code"]
    assert isinstance(body["message"], str) and body["message"]
    return body


async def cells_containing(database, needle: str) -> list[str]:
    """Every ``table.column`` of the database holding ``needle`` in clear."""
    found = []
    async with database.read_transaction() as session:
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    if value is not None and needle.encode() in (
                        value if isinstance(value, bytes) else str(value).encode()
                    ):
                        found.append(f"{table.name}.{column.name}")
    return found
