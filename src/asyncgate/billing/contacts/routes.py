"""``/v1/contacts``: create, read, update and delete the contacts of customer accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.billing.contacts import service
from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.contacts.schemas import ContactCreate, ContactResponse, ContactUpdate
from asyncgate.billing.schemas import CommonResponse
from asyncgate.http.routing import Session, UnitOfWorkRoute, declare_resource

router = APIRouter(route_class=UnitOfWorkRoute, tags=["Contacts"])


def _answer(contact: Contact) -> ContactResponse:
    return ContactResponse.of(contact, contact.account.account_number)


@router.post("/contacts")
async def create_contact(
    request: Request, body: ContactCreate, session: Session, principal: CurrentPrincipal
) -> ContactResponse:
    contact = await service.create_contact(session, principal.tenant_id, body)
    declare_resource(request, contact.id)
    return _answer(contact)


@router.get("/contacts/{contact_id}")
async def get_contact(
    contact_id: str, session: Session, principal: CurrentPrincipal
) -> ContactResponse:
    return _answer(await service.get_contact(session, principal.tenant_id, contact_id))


@router.put("/contacts/{contact_id}")
async def update_contact(
    request: Request,
    contact_id: str,
    body: ContactUpdate,
    session: Session,
    principal: CurrentPrincipal,
) -> ContactResponse:
    contact = await service.update_contact(session, principal.tenant_id, contact_id, body)
    declare_resource(request, contact.id)
    return _answer(contact)


@router.delete("/contacts/{contact_id}")
async def delete_contact(
    request: Request, contact_id: str, session: Session, principal: CurrentPrincipal
) -> CommonResponse:
    contact = await service.delete_contact(session, principal.tenant_id, contact_id)
    declare_resource(request, contact.id)
    return CommonResponse()
