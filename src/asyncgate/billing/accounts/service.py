"""Account rules: numbering, the bill-to / sold-to contacts, status, and deletion.

Every function is scoped to one tenant: another tenant's account is not found, exactly like a
missing one. Functions flush and never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.billing.accounts.models import Account, AccountStatus, CreatedAccount
from asyncgate.billing.accounts.repository import account_numbers_taken, find_account
from asyncgate.billing.accounts.schemas import AccountCreate, AccountUpdate
from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.contacts.schemas import ContactFields, ContactUpdate
from asyncgate.billing.contacts.service import apply_contact_update, contact_values
from asyncgate.db.base import new_id
from asyncgate.db.executemany import execute_many
from asyncgate.db.sequences import next_free_numbers
from asyncgate.http.errors import BusinessRuleViolated, InvalidValue, NotFound, Resource

ACCOUNT_SEQUENCE = "account"
_CONTACT_FIELDS = frozenset({"bill_to_contact", "sold_to_contact"})
_SET_BY_CREATE = _CONTACT_FIELDS | {"account_number"}
_ROLE_FIELDS = _CONTACT_FIELDS | {"bill_to_contact_id", "sold_to_contact_id"}
_ROLE_ATTRIBUTES = {"billTo": "bill_to_contact", "soldTo": "sold_to_contact"}

# New accounts and contacts are written with Core statements rather than ORM objects: in bulk,
# the unit of work costs more than the inserts. Columns a row leaves out take their column
# defaults, exactly as through the ORM; IDs are set beforehand, since rows refer to each other.
_ACCOUNTS = Account.__table__
_INSERT_ACCOUNTS = insert(_ACCOUNTS)
_INSERT_CONTACTS = insert(Contact.__table__)
# The two tables refer to each other: an account's roles are set once its contacts exist.
_SET_ROLES = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account"))
    .values(bill_to_contact_id=bindparam("bill_to"), sold_to_contact_id=bindparam("sold_to"))
)


def format_account_number(value: int) -> str:
    return f"A{value:08d}"


async def create_account(
    session: AsyncSession, tenant_id: str, data: AccountCreate
) -> CreatedAccount:
    """Creates an account and its contacts; returns its ID, number, status and contact roles.

    The number is ``data.account_number`` or the tenant's next free ``A00000001``-style number.
    A number the tenant already uses is a business-rule violation (category 30) answered with
    HTTP 409 Conflict, since the request is valid but clashes with existing state.
    The sold-to contact defaults to the bill-to contact (one contact in both roles). Without a
    bill-to contact the account is a Draft (the CRUD flow adds contacts later); with one it is
    Active. Fields left out take Zuora's defaults: bill cycle day 1, "Due Upon Receipt",
    auto-pay off, Batch1.
    """
    try:
        async with session.begin_nested():
            [account] = await create_accounts(session, tenant_id, [data])
    except IntegrityError:
        number = data.account_number
        if number is not None and await account_numbers_taken(session, tenant_id, [number]):
            raise _number_in_use(number) from None
        raise
    return account


async def create_accounts(
    session: AsyncSession, tenant_id: str, batch: list[AccountCreate]
) -> list[CreatedAccount]:
    """Creates several accounts as :func:`create_account` creates one, in a few statements for
    the whole batch.

    A number another account already uses raises ``IntegrityError`` with part of the batch
    written: the caller undoes it, by running this in a savepoint.
    """
    generated = iter(
        await _next_free_numbers(
            session, tenant_id, sum(1 for data in batch if data.account_number is None)
        )
    )
    accounts: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    roles: list[dict[str, str]] = []
    created: list[CreatedAccount] = []
    for data in batch:
        account = _account_values(tenant_id, data.account_number or next(generated), data)
        accounts.append(account)
        bill_to = sold_to = None
        if data.bill_to_contact is not None:
            bill_to = _contact_values(tenant_id, account["id"], data.bill_to_contact)
            contacts.append(bill_to)
            sold_to = bill_to
            if data.sold_to_contact is not None:
                sold_to = _contact_values(tenant_id, account["id"], data.sold_to_contact)
                contacts.append(sold_to)
            roles.append(
                {"account": account["id"], "bill_to": bill_to["id"], "sold_to": sold_to["id"]}
            )
        created.append(
            CreatedAccount(
                id=account["id"],
                account_number=account["account_number"],
                status=account["status"],
                bill_to_contact_id=None if bill_to is None else bill_to["id"],
                sold_to_contact_id=None if sold_to is None else sold_to["id"],
            )
        )
    await execute_many(session, _INSERT_ACCOUNTS, accounts)
    await execute_many(session, _INSERT_CONTACTS, contacts)
    await execute_many(session, _SET_ROLES, roles)
    return created


def _account_values(tenant_id: str, number: str, data: AccountCreate) -> dict[str, Any]:
    """The columns a new account takes from ``data``; the others take their defaults."""
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "account_number": number,
        "status": AccountStatus.ACTIVE if data.bill_to_contact else AccountStatus.DRAFT,
        "custom_fields": data.custom_fields,
        **{
            name: value
            for name, value in data.given_values(exclude=_SET_BY_CREATE).items()
            if value is not None
        },
    }


def _contact_values(tenant_id: str, account_id: str, fields: ContactFields) -> dict[str, Any]:
    return {"id": new_id(), "account_id": account_id, **contact_values(tenant_id, fields)}


async def get_account(
    session: AsyncSession, tenant_id: str, account_key: str, *, with_contacts: bool = False
) -> Account:
    """The tenant's account whose ID or number is ``account_key``, or ``NotFound``.

    ``with_contacts`` loads ``bill_to_contact`` and ``sold_to_contact`` (otherwise touching them
    raises, by design).
    """
    account = await find_account(
        session,
        tenant_id,
        account_id=account_key,
        account_number=account_key,
        with_contacts=with_contacts,
    )
    if account is None:
        raise NotFound(f"Account {account_key} does not exist", resource=Resource.ACCOUNT)
    return account


async def update_account(
    session: AsyncSession,
    tenant_id: str,
    account_key: str,
    data: AccountUpdate,
    *,
    status: AccountStatus | None = None,
) -> Account:
    """Changes the fields sent in ``data``; the rest keep their values.

    ``billToContact`` / ``soldToContact`` edit the contact currently in that role (when one
    contact plays both roles, both see the change); ``billToContactId`` / ``soldToContactId``
    hand the role to another contact of the same account. ``status`` is for internal callers
    (CRUD's Status field; the REST update has none): an account becomes Active only with both
    contacts. Returns the account with its contacts loaded.
    """
    account = await get_account(session, tenant_id, account_key, with_contacts=True)
    for name, value in data.given_values(exclude=_ROLE_FIELDS).items():
        setattr(account, name, value)
    if data.custom_fields:
        account.custom_fields = {**account.custom_fields, **data.custom_fields}
    account.bill_to_contact = await _role_contact(
        session, account, "billTo", data.bill_to_contact_id, data.bill_to_contact
    )
    account.sold_to_contact = await _role_contact(
        session, account, "soldTo", data.sold_to_contact_id, data.sold_to_contact
    )
    if status is not None:
        _check_status(account, status)
        account.status = status
    await session.flush()
    return account


async def delete_account(session: AsyncSession, tenant_id: str, account_key: str) -> Account:
    """Deletes the account and all its contacts; returns the deleted (detached) account."""
    account = await get_account(session, tenant_id, account_key)
    # The account points at two of its contacts and they point back: unlink, then delete.
    unlink = update(Account).values(bill_to_contact_id=None, sold_to_contact_id=None)
    for statement in (
        unlink.where(Account.id == account.id),
        delete(Contact).where(Contact.account_id == account.id),
        delete(Account).where(Account.id == account.id),
    ):
        await session.execute(statement.execution_options(synchronize_session=False))
    session.expunge(account)
    return account


async def _next_free_numbers(session: AsyncSession, tenant_id: str, count: int) -> list[str]:
    """The next ``count`` numbers of the tenant's sequence that no account took explicitly."""

    async def taken(numbers: list[str]) -> set[str]:
        return await account_numbers_taken(session, tenant_id, numbers)

    return await next_free_numbers(
        session, tenant_id, ACCOUNT_SEQUENCE, count, format_account_number, taken
    )


async def _role_contact(
    session: AsyncSession,
    account: Account,
    role: str,
    new_id: str | None,
    changes: ContactUpdate | None,
) -> Contact | None:
    """The contact that plays ``role`` ("billTo" or "soldTo") after an update, with ``changes``
    applied to it."""
    if new_id is not None and changes is not None:
        raise InvalidValue(
            f"Give either {role}ContactId or {role}Contact, not both", resource=Resource.ACCOUNT
        )
    contact = getattr(account, _ROLE_ATTRIBUTES[role])
    if new_id is not None:
        contact = await _contact_of(session, account, new_id, f"{role}ContactId")
    if changes is not None:
        if contact is None:
            raise InvalidValue(
                f"Account {account.account_number} has no {role} contact to update",
                resource=Resource.ACCOUNT,
            )
        apply_contact_update(contact, changes)
    return contact


async def _contact_of(
    session: AsyncSession, account: Account, contact_id: str, field: str
) -> Contact:
    contact = await session.get(Contact, contact_id)
    # The account is the tenant's, so a contact of it is too.
    if contact is None or contact.account_id != account.id:
        raise InvalidValue(
            f"{field} {contact_id} is not a contact of account {account.account_number}",
            resource=Resource.ACCOUNT,
        )
    return contact


def _check_status(account: Account, status: AccountStatus) -> None:
    if status == AccountStatus.ACTIVE and (
        account.bill_to_contact is None or account.sold_to_contact is None
    ):
        raise BusinessRuleViolated(
            f"Account {account.account_number} needs a bill-to and a sold-to contact to be Active",
            resource=Resource.ACCOUNT,
        )


def _number_in_use(number: str) -> BusinessRuleViolated:
    return BusinessRuleViolated(
        f"The account number {number} is already in use", resource=Resource.ACCOUNT, status=409
    )
