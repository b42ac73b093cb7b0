"""The cache of tokens verified lately: what a revocation does to it."""

from __future__ import annotations

from datetime import timedelta

from asyncgate.auth.dependencies import TokenCache
from asyncgate.auth.principal import Principal
from asyncgate.auth.roles import Role
from tests.support.clock import ManualClock


def principal(client_id: str) -> Principal:
    return Principal(tenant_id="t" * 32, role=Role.TENANT_ADMINISTRATOR, client_id=client_id)


def test_a_revoked_clients_tokens_are_dropped_and_others_kept():
    clock = ManualClock()
    cache = TokenCache(clock)
    expires = clock.now() + timedelta(hours=1)
    cache.put("revoked-token", principal("revoked"), expires)
    cache.put("kept-token", principal("kept"), expires)

    cache.forget_client("revoked")

    assert cache.get("revoked-token") is None
    assert cache.get("kept-token") == principal("kept")


def test_a_lookup_that_raced_the_revocation_is_not_cached():
    clock = ManualClock()
    cache = TokenCache(clock)
    cache.forget_client("revoked")

    # Its lookup read the client before the revocation committed.
    cache.put("late-token", principal("revoked"), clock.now() + timedelta(hours=1))

    assert cache.get("late-token") is None
