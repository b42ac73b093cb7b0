"""Account look-ups, shared by the account and contact services."""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from asyncgate.billing.accounts.models import Account


async def find_account(
    session: AsyncSession,
    tenant_id: str,
    *,
    account_id: str | None = None,
    account_number: str | None = None,
    with_contacts: bool = False,
) -> Account | None:
    """The tenant's account with this ID or this number, or None.

    When one account has the ID and another the number, the ID wins, as it does in Zuora.
    ``with_contacts`` loads the bill-to and sold-to contacts with it.
    """
    conditions = []
    if account_id is not None:
        conditions.append(Account.id == account_id)
    if account_number is not None:
        conditions.append(Account.account_number == account_number)
    if not conditions:
        return None
    statement = select(Account).where(Account.tenant_id == tenant_id, or_(*conditions))
    if with_contacts:
        statement = statement.options(
            selectinload(Account.bill_to_contact), selectinload(Account.sold_to_contact)
        )
    accounts = (await session.scalars(statement)).all()
    return min(accounts, key=lambda account: account.id != account_id, default=None)


_ACCOUNTS = Account.__table__
# Built once, and in Core: building it costs more than running it.
_NUMBERS_TAKEN = select(_ACCOUNTS.c.account_number).where(
    _ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
    _ACCOUNTS.c.account_number.in_(bindparam("numbers", expanding=True)),
)


async def account_numbers_taken(
    session: AsyncSession, tenant_id: str, numbers: list[str]
) -> set[str]:
    """Those of ``numbers`` that accounts of the tenant already have."""
    parameters = {"tenant_id": tenant_id, "numbers": numbers}
    return set(await session.scalars(_NUMBERS_TAKEN, parameters))
