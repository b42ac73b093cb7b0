"""Contact shapes with Zuora's JSON names.

Python field names equal the column names of :class:`~asyncgate.billing.contacts.models.Contact`,
so services copy validated values onto rows by name.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, StringConstraints

from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.schemas import ZuoraInput, ZuoraOutput, stored_values

Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
OtherPhoneType = Literal["Work", "Mobile", "Home", "Other"]


class ContactDetails(ZuoraInput):
    """Every optional contact field, shared by creation and update."""

    nickname: str | None = Field(None, max_length=100)
    contact_description: str | None = Field(None, max_length=100, alias="contactDescription")
    address1: str | None = Field(None, max_length=255)
    address2: str | None = Field(None, max_length=255)
    city: str | None = Field(None, max_length=100)
    county: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=64)
    zip_code: str | None = Field(None, max_length=20, alias="zipCode")
    tax_region: str | None = Field(None, max_length=100, alias="taxRegion")
    work_email: str | None = Field(None, max_length=80, alias="workEmail")
    personal_email: str | None = Field(None, max_length=80, alias="personalEmail")
    work_phone: str | None = Field(None, max_length=40, alias="workPhone")
    home_phone: str | None = Field(None, max_length=40, alias="homePhone")
    mobile_phone: str | None = Field(None, max_length=100, alias="mobilePhone")
    other_phone: str | None = Field(None, max_length=40, alias="otherPhone")
    other_phone_type: OtherPhoneType | None = Field(None, alias="otherPhoneType")
    fax: str | None = Field(None, max_length=40)


class ContactFields(ContactDetails):
    """A new contact's own fields (an account's ``billToContact`` / ``soldToContact``)."""

    first_name: Name = Field(alias="firstName")
    last_name: Name = Field(alias="lastName")


class ContactCreate(ContactFields):
    """``POST /v1/contacts``: the owning account is named by ``accountId`` or ``accountNumber``."""

    account_id: str | None = Field(None, alias="accountId")
    account_number: str | None = Field(None, alias="accountNumber")


class ContactUpdate(ContactDetails):
    """A partial update: fields left out keep their values."""

    not_nullable: ClassVar[frozenset[str]] = frozenset({"first_name", "last_name"})

    first_name: Name | None = Field(None, alias="firstName")
    last_name: Name | None = Field(None, alias="lastName")


class ContactOut(ZuoraOutput):
    """Zuora's contact shape (``Contact`` / ``ContactResponse``); custom fields ride along."""

    id: str
    account_id: str = Field(alias="accountId")
    account_number: str = Field(alias="accountNumber")
    first_name: str = Field(alias="firstName")
    last_name: str = Field(alias="lastName")
    nickname: str | None
    contact_description: str | None = Field(alias="contactDescription")
    address1: str | None
    address2: str | None
    city: str | None
    county: str | None
    state: str | None
    country: str | None
    zip_code: str | None = Field(alias="zipCode")
    tax_region: str | None = Field(alias="taxRegion")
    work_email: str | None = Field(alias="workEmail")
    personal_email: str | None = Field(alias="personalEmail")
    work_phone: str | None = Field(alias="workPhone")
    home_phone: str | None = Field(alias="homePhone")
    mobile_phone: str | None = Field(alias="mobilePhone")
    other_phone: str | None = Field(alias="otherPhone")
    other_phone_type: str | None = Field(alias="otherPhoneType")
    fax: str | None

    @classmethod
    def of(cls, contact: Contact, account_number: str) -> Self:
        stored = stored_values(ContactOut, contact, exclude=frozenset({"account_number"}))
        return cls(**stored, account_number=account_number, **contact.custom_fields)


class ContactResponse(ContactOut):
    """``POST``, ``GET`` and ``PUT /v1/contacts``: the contact and ``success``."""

    success: bool = True
