"""Contact rules: every contact belongs to one account of the caller's tenant, and an account's
bill-to and sold-to contacts cannot be deleted while they play that role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.accounts.repository import find_account
from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.contacts.schemas import (
    ContactCreate,
    ContactDetails,
    ContactFields,
    ContactUpdate,
)
from asyncgate.http.errors import (
    BusinessRuleViolated,
    InvalidValue,
    MissingField,
    NotFound,
    Resource,
)


def new_contact(tenant_id: str, account: Account, fields: ContactFields) -> Contact:
    """A contact row for ``account`` (added to the session by the caller)."""
    return Contact(account=account, **contact_values(tenant_id, fields))


def contact_values(tenant_id: str, fields: ContactFields) -> dict[str, Any]:
    """The columns a new contact takes from ``fields``; the others (its account, ID and
    timestamps) are set by the caller or take their defaults."""
    return {
        "tenant_id": tenant_id,
        "custom_fields": fields.custom_fields,
        **fields.given_values(exclude=_NOT_CONTACT_COLUMNS),
    }


def apply_contact_update(contact: Contact, data: ContactDetails) -> None:
    """Copies the fields the caller sent onto ``contact``; custom fields merge by name."""
    for name, value in data.given_values().items():
        setattr(contact, name, value)
    if data.custom_fields:
        contact.custom_fields = {**contact.custom_fields, **data.custom_fields}


async def create_contact(session: AsyncSession, tenant_id: str, data: ContactCreate) -> Contact:
    """Adds a contact to the account named by ``data.account_id`` or ``data.account_number``.

    Naming no account is a missing field; naming one the tenant does not have (or an ID and a
    number of two different accounts) is an invalid value. The returned contact has its
    ``account`` loaded.
    """
    account = await _owning_account(session, tenant_id, data)
    contact = new_contact(tenant_id, account, data)
    session.add(contact)
    await session.flush()
    return contact


async def get_contact(session: AsyncSession, tenant_id: str, contact_id: str) -> Contact:
    """The tenant's contact, with its ``account`` loaded; another tenant's contact is not found."""
    statement = (
        select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
        .options(joinedload(Contact.account))
    )
    contact = await session.scalar(statement)
    if contact is None:
        raise NotFound(f"Contact {contact_id} does not exist", resource=Resource.CONTACT)
    return contact


async def update_contact(
    session: AsyncSession, tenant_id: str, contact_id: str, data: ContactUpdate
) -> Contact:
    """Changes the fields sent in ``data``; the rest keep their values."""
    contact = await get_contact(session, tenant_id, contact_id)
    apply_contact_update(contact, data)
    await session.flush()
    return contact


async def delete_contact(session: AsyncSession, tenant_id: str, contact_id: str) -> Contact:
    """Deletes a contact that is neither its account's bill-to nor its sold-to contact."""
    contact = await get_contact(session, tenant_id, contact_id)
    account = contact.account
    if contact.id in (account.bill_to_contact_id, account.sold_to_contact_id):
        raise BusinessRuleViolated(
            f"Contact {contact_id} is the bill-to or sold-to contact of account "
            f"{account.account_number} and cannot be deleted",
            resource=Resource.CONTACT,
        )
    await session.delete(contact)
    await session.flush()
    return contact


async def _owning_account(session: AsyncSession, tenant_id: str, data: ContactCreate) -> Account:
    if data.account_id is None and data.account_number is None:
        raise MissingField(
            "Missing required field: accountId or accountNumber", resource=Resource.CONTACT
        )
    account = await find_account(
        session, tenant_id, account_id=data.account_id, account_number=data.account_number
    )
    if (
        account is None
        or (data.account_id is not None and account.id != data.account_id)
        or (data.account_number is not None and account.account_number != data.account_number)
    ):
        named = " / ".join(key for key in (data.account_id, data.account_number) if key)
        raise InvalidValue(f"No account matches {named}", resource=Resource.ACCOUNT)
    return account


_NOT_CONTACT_COLUMNS = frozenset({"account_id", "account_number"})
