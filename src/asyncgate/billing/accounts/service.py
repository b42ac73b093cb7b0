"""Account rules: numbering, the bill-to / sold-to contacts, status, and deletion.

Every function is scoped to one tenant: another tenant's account is not found, exactly like a
missing one. Functions flush and never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.billing.accounts.models import Account, AccountStatus
from asyncgate.billing.accounts.repository import account_numbers_taken, find_account
from asyncgate.billing.accounts.schemas import AccountCreate, AccountUpdate
from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.contacts.schemas import ContactUpdate
from asyncgate.billing.contacts.service import apply_contact_update, new_contact
from asyncgate.db.sequences import next_value
from asyncgate.http.errors import BusinessRuleViolated, InvalidValue, NotFound, Resource

ACCOUNT_SEQUENCE = "account"
_CONTACT_FIELDS = frozenset({"bill_to_contact", "sold_to_contact"})
_SET_BY_CREATE = _CONTACT_FIELDS | {"account_number"}
_ROLE_FIELDS = _CONTACT_FIELDS | {"bill_to_contact_id", "sold_to_contact_id"}
_ROLE_ATTRIBUTES = {"billTo": "bill_to_contact", "soldTo": "sold_to_contact"}


def format_account_number(value: int) -> str:
    return f"A{value:08d}"


async def create_account(session: AsyncSession, tenant_id: str, data: AccountCreate) -> Account:
    """Creates an account and its contacts; returns it with both contact roles set.

    The number is ``data.account_number`` or the tenant's next free ``A00000001``-style number.
    A number the tenant already uses is a business-rule violation (category 30) answered with
    HTTP 409 Conflict, since the request is valid but clashes with existing state.
    The sold-to contact defaults to the bill-to contact (one contact in both roles). Without a
    bill-to contact the account is a Draft (the CRUD flow adds contacts later); with one it is
    Active. Fields left out take Zuora's defaults: bill cycle day 1, "Due Upon Receipt",
    auto-pay off, Batch1.
    """
    try:
        [account] = await create_accounts(session, tenant_id, [data])
    except IntegrityError:
        number = data.account_number
        if number is not None and await account_numbers_taken(session, tenant_id, [number]):
            raise _number_in_use(number) from None
        raise
    return account


async def create_accounts(
    session: AsyncSession, tenant_id: str, batch: list[AccountCreate]
) -> list[Account]:
    """Creates several accounts as :func:`create_account` creates one, in one flush.

    The flush runs in a savepoint, so a number another account already uses raises
    ``IntegrityError`` and leaves nothing of the batch behind (nor an aborted transaction).
    """
    generated = iter(
        await _next_free_numbers(
            session, tenant_id, sum(1 for data in batch if data.account_number is None)
        )
    )
    accounts = [
        _new_account(tenant_id, data.account_number or next(generated), data) for data in batch
    ]
    async with session.begin_nested():
        session.add_all(accounts)
        await session.flush()
    return accounts


def _new_account(tenant_id: str, number: str, data: AccountCreate) -> Account:
    account = Account(
        tenant_id=tenant_id,
        account_number=number,
        status=AccountStatus.ACTIVE if data.bill_to_contact else AccountStatus.DRAFT,
        custom_fields=data.custom_fields,
        **{
            name: value
            for name, value in data.given_values(exclude=_SET_BY_CREATE).items()
            if value is not None
        },
    )
    if data.bill_to_contact is not None:
        account.bill_to_contact = new_contact(tenant_id, account, data.bill_to_contact)
        account.sold_to_contact = (
            new_contact(tenant_id, account, data.sold_to_contact)
            if data.sold_to_contact is not None
            else account.bill_to_contact
        )
    return account


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
    free: list[str] = []
    while len(free) < count:
        wanted = count - len(free)
        last = await next_value(session, tenant_id, ACCOUNT_SEQUENCE, wanted)
        numbers = [format_account_number(value) for value in range(last - wanted + 1, last + 1)]
        taken = await account_numbers_taken(session, tenant_id, numbers)
        free += [number for number in numbers if number not in taken]
    return free


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
