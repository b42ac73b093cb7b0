from __future__ import annotations

from dataclasses import dataclass

from asyncgate.auth.roles import ADMINISTRATOR_ROLES, Role


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant every query is scoped to, and the role that bounds it."""

    tenant_id: str
    role: Role
    client_id: str | None = None
    user_id: str | None = None

    @property
    def is_administrator(self) -> bool:
        return self.role in ADMINISTRATOR_ROLES
