"""Stored invoices: a bill run over subscriptions' charges, written as an invoice of the
account; and reading invoices back.

The arithmetic is ``billrun.bill_charges``'s; this module maps subscription charges onto it,
stores the invoice, moves each charge's charged-through date and adds the invoice to the
account's balances. Functions flush and never commit.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from asyncgate.billing.accounts.models import Account
from asyncgate.billing.catalog.models import Product
from asyncgate.billing.invoices.billrun import MAX_INVOICE_ITEMS, bill_charges
from asyncgate.billing.invoices.billrun import Invoice as BilledInvoice
from asyncgate.billing.invoices.models import Invoice, InvoiceItem
from asyncgate.billing.invoices.money import AMOUNT_LIMIT, storable
from asyncgate.billing.invoices.periods import OutsideTheCalendar
from asyncgate.billing.invoices.rating import ItemKind, TooManyItems
from asyncgate.billing.subscriptions.models import Subscription, SubscriptionCharge
from asyncgate.db.base import new_id
from asyncgate.db.sequences import next_free_number
from asyncgate.http.errors import InvalidValue, NotFound, Resource

INVOICE_SEQUENCE = "invoice"
PAYMENT_TERM_DAYS = {"Due Upon Receipt": 0, "Net 30": 30, "Net 60": 60, "Net 90": 90}
NAME_SUFFIXES = {
    ItemKind.CHARGE: "",
    ItemKind.PRORATION: " Proration",
    ItemKind.PRORATION_CREDIT: " Proration Credit",
    ItemKind.CREDIT: " Credit",
}
"""How an item's charge name tells what it bills, as Zuora names them."""


async def bill_subscriptions(
    session: AsyncSession,
    account: Account,
    subscriptions: list[Subscription],
    *,
    target_date: date,
    invoice_date: date,
    order_id: str | None,
) -> Invoice | None:
    """Bills the charges of ``subscriptions`` (latest versions of the account's, with rate
    plans, charges and catalog products loaded) up to ``target_date``: one posted invoice, or
    None when nothing is due. Each charge's charged-through date moves to the end of what is
    billed, or back to its end date once a credit gives the rest back."""
    owners: dict[str, tuple[Subscription, SubscriptionCharge, Product]] = {}
    for subscription in subscriptions:
        for rate_plan in subscription.rate_plans:
            product = rate_plan.product_rate_plan.product
            for charge in rate_plan.charges:
                owners[charge.id] = (subscription, charge, product)
    charges = [charge for _, charge, _ in owners.values()]
    try:
        run = bill_charges(
            [charge.to_charge() for charge in charges], account.bill_cycle_day, target_date
        )
    except OutsideTheCalendar:
        raise InvalidValue(
            f"Billing through {target_date} would need billing periods past {date.max}",
            resource=Resource.INVOICE,
        ) from None
    except TooManyItems:
        raise InvalidValue(
            f"Billing through {target_date} would make an invoice of more than "
            f"{MAX_INVOICE_ITEMS} items: bill through an earlier date first",
            resource=Resource.INVOICE,
        ) from None
    for charge in charges:
        charge.charged_through_date = run.charged_through[charge.id]
    if run.invoice is None:
        return None
    _check_storable(run.invoice, account)
    number = await next_free_number(
        session, account.tenant_id, INVOICE_SEQUENCE, "INV{:08d}", Invoice.invoice_number
    )
    items = []
    for sequence, item in enumerate(run.invoice.items):
        subscription, charge, product = owners[item.charge_key]
        items.append(
            InvoiceItem(
                id=new_id(),
                tenant_id=account.tenant_id,
                sequence=sequence,
                subscription_id=subscription.id,
                subscription_number=subscription.subscription_number,
                charge_id=charge.id,
                charge_number=charge.charge_number,
                charge_name=charge.name + NAME_SUFFIXES[item.kind],
                charge_type=charge.charge_type,
                product_name=product.name,
                sku=product.sku,
                product_rate_plan_charge_id=charge.product_rate_plan_charge_id,
                uom=charge.uom,
                service_start_date=item.service_start,
                service_end_date=item.service_end,
                quantity=item.quantity,
                unit_price=item.unit_price,
                amount=item.amount,
                tax_amount=run.invoice.tax_amount,
            )
        )
    amount = run.invoice.amount
    invoice = Invoice(
        id=new_id(),
        tenant_id=account.tenant_id,
        invoice_number=number,
        account_id=account.id,
        order_id=order_id,
        invoice_date=invoice_date,
        due_date=invoice_date + timedelta(days=PAYMENT_TERM_DAYS[account.payment_term]),
        target_date=target_date,
        currency=run.invoice.currency,
        amount=amount,
        amount_without_tax=run.invoice.amount_without_tax,
        tax_amount=run.invoice.tax_amount,
        balance=amount,
        items=items,
    )
    session.add(invoice)
    account.balance += amount
    account.total_invoice_balance += amount
    await session.flush()
    return invoice


def _check_storable(invoice: BilledInvoice, account: Account) -> None:
    """Refuses an invoice whose amounts, or the account's balances with it, are past what is
    stored (``money.AMOUNT_LIMIT``)."""
    amounts = [
        *(item.amount for item in invoice.items),
        invoice.amount,
        account.balance + invoice.amount,
        account.total_invoice_balance + invoice.amount,
    ]
    if not all(storable(amount) for amount in amounts):
        raise InvalidValue(
            f"Billing would make an amount of {AMOUNT_LIMIT:f} {invoice.currency} or more, past "
            "the largest an invoice, its items or the account's balance may hold",
            resource=Resource.INVOICE,
        )


async def delete_order_invoices(session: AsyncSession, account: Account, order_id: str) -> None:
    """Deletes the invoices the order's bill run created, and takes them off the account's
    balances."""
    statement = select(Invoice).where(Invoice.order_id == order_id)
    for invoice in await session.scalars(statement):
        account.balance -= invoice.amount
        account.total_invoice_balance -= invoice.amount
    await session.execute(
        delete(Invoice)
        .where(Invoice.order_id == order_id)
        .execution_options(synchronize_session=False)
    )


async def get_invoice(session: AsyncSession, tenant_id: str, key: str) -> Invoice:
    """The tenant's invoice whose ID or number is ``key``, with its items; ``NotFound``
    otherwise. The ID wins when one invoice has the ID and another the number."""
    statement = (
        select(Invoice)
        .where(
            Invoice.tenant_id == tenant_id,
            or_(Invoice.id == key, Invoice.invoice_number == key),
        )
        .options(selectinload(Invoice.items))
    )
    invoices = (await session.scalars(statement)).all()
    invoice = min(invoices, key=lambda row: row.id != key, default=None)
    if invoice is None:
        raise NotFound(f"Invoice {key} does not exist", resource=Resource.INVOICE)
    return invoice
