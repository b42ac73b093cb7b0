"""The object registry stays in step with the models and the services it maps onto."""

from __future__ import annotations

import pytest

from asyncgate.billing.accounts.schemas import AccountCreate, AccountUpdate
from asyncgate.billing.catalog.schemas import (
    ChargeCreate,
    ChargeUpdate,
    ProductCreate,
    ProductUpdate,
    RatePlanCreate,
    RatePlanUpdate,
)
from asyncgate.billing.contacts.schemas import ContactCreate, ContactUpdate
from asyncgate.crud.registry import (
    ACCOUNT,
    CONTACT,
    OBJECT_TYPES,
    PRODUCT,
    PRODUCT_RATE_PLAN,
    PRODUCT_RATE_PLAN_CHARGE,
    Access,
    by_name,
    by_path,
)
from asyncgate.http.errors import InvalidValue, NotFound

# The account's Status reaches the account service as an argument of its own.
PASSED_APART = {"status"}


@pytest.mark.parametrize("object_type", OBJECT_TYPES, ids=lambda t: t.name)
class TestEveryType:
    def test_every_field_is_a_column_of_the_model(self, object_type):
        columns = object_type.model.__table__.columns
        assert [f.attribute for f in object_type.fields if f.attribute not in columns] == []

    def test_field_names_and_attributes_are_unique(self, object_type):
        every_field = (*object_type.fields, *object_type.write_only)
        names = [field.name.lower() for field in every_field]
        attributes = [field.attribute for field in every_field]
        assert len(set(names)) == len(names)
        assert len(set(attributes)) == len(attributes)

    def test_the_type_is_found_by_path_and_by_name_in_any_case(self, object_type):
        assert by_path(object_type.path.upper()) is object_type
        assert by_name(object_type.name.upper()) is object_type


@pytest.mark.parametrize(
    ("object_type", "schema", "access"),
    [
        (ACCOUNT, AccountCreate, Access.CREATE),
        (ACCOUNT, AccountUpdate, Access.UPDATE),
        (CONTACT, ContactCreate, Access.CREATE),
        (CONTACT, ContactUpdate, Access.UPDATE),
        (PRODUCT, ProductCreate, Access.CREATE),
        (PRODUCT, ProductUpdate, Access.UPDATE),
        (PRODUCT_RATE_PLAN, RatePlanCreate, Access.CREATE),
        (PRODUCT_RATE_PLAN, RatePlanUpdate, Access.UPDATE),
        (PRODUCT_RATE_PLAN_CHARGE, ChargeCreate, Access.CREATE),
        (PRODUCT_RATE_PLAN_CHARGE, ChargeUpdate, Access.UPDATE),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_every_writable_field_is_taken_by_the_service(object_type, schema, access):
    writable = {
        field.attribute
        for field in (*object_type.fields, *object_type.write_only)
        if field.access & access
    }
    assert writable - PASSED_APART <= schema.model_fields.keys()


@pytest.mark.parametrize(
    ("schema", "object_type"),
    [
        (ProductCreate, PRODUCT),
        (RatePlanCreate, PRODUCT_RATE_PLAN),
        (ChargeCreate, PRODUCT_RATE_PLAN_CHARGE),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_every_catalog_input_is_reachable_through_crud(schema, object_type):
    """The catalog is written through CRUD only: a field CRUD cannot send is dead."""
    writable = {field.attribute for field in (*object_type.fields, *object_type.write_only)}
    assert schema.model_fields.keys() <= writable


def test_unknown_types_are_refused():
    with pytest.raises(NotFound):
        by_path("invoice")
    with pytest.raises(InvalidValue):
        by_name("Invoice")
