"""``GET /v1/invoices/{invoiceKey}`` and ``GET /v1/invoices/{invoiceKey}/items`` (key = ID or
number). Invoices are created by orders' bill runs (``processingOptions.runBilling``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.invoices import service
from asyncgate.billing.invoices.schemas import InvoiceItemOut, InvoiceItemsPage, InvoiceResponse
from asyncgate.billing.paging import Page, PageSize, next_page
from asyncgate.http.routing import Session, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Invoices"])

ITEMS_PAGE_SIZE = 20


@router.get("/invoices/{invoice_key}")
async def get_invoice(
    invoice_key: str, session: Session, principal: CurrentPrincipal
) -> InvoiceResponse:
    return InvoiceResponse.of(await service.get_invoice(session, principal.tenant_id, invoice_key))


@router.get("/invoices/{invoice_key}/items")
async def get_invoice_items(
    request: Request,
    invoice_key: str,
    session: Session,
    principal: CurrentPrincipal,
    page: Page = 1,
    page_size: PageSize = ITEMS_PAGE_SIZE,
) -> InvoiceItemsPage:
    invoice = await service.get_invoice(session, principal.tenant_id, invoice_key)
    start = (page - 1) * page_size
    return InvoiceItemsPage(
        invoice_items=[
            InvoiceItemOut.of(item) for item in invoice.items[start : start + page_size]
        ],
        next_page=next_page(request, page, page_size, len(invoice.items) > start + page_size),
    )
