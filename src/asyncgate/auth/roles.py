from enum import StrEnum


class Role(StrEnum):
    TENANT_ADMINISTRATOR = "Tenant administrator"
    BILLING_ADMINISTRATOR = "Billing administrator"
    PAYMENTS_ADMINISTRATOR = "Payments administrator"
    FINANCE_ADMINISTRATOR = "Finance administrator"
    STANDARD_USER = "Standard user"


ADMINISTRATOR_ROLES = frozenset(
    {
        Role.TENANT_ADMINISTRATOR,
        Role.BILLING_ADMINISTRATOR,
        Role.PAYMENTS_ADMINISTRATOR,
        Role.FINANCE_ADMINISTRATOR,
    }
)


def may_grant(granter: Role, role: Role) -> bool:
    """Only a Tenant administrator hands out the Tenant administrator role."""
    return role != Role.TENANT_ADMINISTRATOR or granter == Role.TENANT_ADMINISTRATOR
