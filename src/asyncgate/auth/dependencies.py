"""The bearer-token dependency that guards every ``/v1`` route."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from asyncgate.auth import service
from asyncgate.auth.principal import Principal
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.http.errors import AuthenticationFailed, PermissionDenied, Resource
from asyncgate.http.routing import SCOPE_PRINCIPAL

TENANT_SCOPE_HEADERS = ("zuora-entity-ids", "zuora-org-ids")


class TokenCache:
    """Tokens verified lately, so the hot path skips their lookup.

    An entry lives at most ``ttl`` seconds and never past its token's expiry. A revocation ends
    a client's tokens here at once in the process that made it (:meth:`forget_client`), and in
    every process once its watch of the database (``auth.revocations``) has seen it
    (:meth:`revocations_seen`). A watched cache answers only while its last look at the
    database began less than ``trusted_for`` seconds ago: a watch that falls behind (a database
    slow to answer, a busy event loop) makes requests look their tokens up again rather than
    honour a token revoked meanwhile.
    """

    def __init__(
        self,
        clock: Clock = SYSTEM_CLOCK,
        ttl: float = 30.0,
        max_entries: int = 10_000,
        trusted_for: float = 1.0,
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.max_entries = max_entries
        self.trusted_for = trusted_for
        self._entries: dict[str, tuple[Principal, float]] = {}
        # Client IDs revoked here lately: their tokens are not cached until the time given.
        self._revoked: dict[str, float] = {}
        # Until when entries may be answered: forever while nothing watches the revocations
        # (an app used without its lifespan), else until the last look grows too old.
        self._trusted_until = math.inf
        # The revocations serial last seen, and a count of the times it changed.
        self._serial: int | None = None
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read it before a lookup and hand it to :meth:`put`: it changes whenever the watch
        sees a revocation, which the lookup may have missed."""
        return self._generation

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, valid_until = entry
        now = self.clock.monotonic()
        if now >= valid_until:
            del self._entries[token]
            return None
        if now >= self._trusted_until:
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: datetime, generation: int) -> None:
        """Keeps a lookup's answer, unless a revocation was seen since it began
        (``generation``, read before it) or was made here lately."""
        if generation != self._generation:
            return
        revoked_until = self._revoked.get(principal.client_id or "")
        if revoked_until is not None:
            if self.clock.monotonic() < revoked_until:
                return
            del self._revoked[principal.client_id or ""]
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        remaining = (expires_at - self.clock.now()).total_seconds()
        self._entries[token] = (principal, self.clock.monotonic() + min(self.ttl, remaining))

    def clear(self) -> None:
        self._entries.clear()

    def forget_client(self, client_id: str) -> None:
        """Drops a revoked client's tokens (``client_id``: its row's ID, as principals carry
        it), and caches none of them for ``ttl``: a lookup that raced the revocation's commit
        would otherwise keep one alive here."""
        self._entries = {
            token: entry
            for token, entry in self._entries.items()
            if entry[0].client_id != client_id
        }
        self._revoked[client_id] = self.clock.monotonic() + self.ttl

    def watch_begins(self) -> None:
        """From now on, entries are answered only as the looks of :meth:`revocations_seen`
        allow: none before the first."""
        self._trusted_until = -math.inf

    def revocations_seen(self, serial: int, looked_at: float) -> None:
        """The watch read the revocations ``serial`` in a look that began at ``looked_at``
        (this clock's monotonic time), so every revocation committed before then is counted
        in it. A serial other than the last one seen drops every entry: any of them may be
        a revoked client's. Entries are then answered until ``trusted_for`` after
        ``looked_at``."""
        if serial != self._serial:
            self._serial = serial
            self._generation += 1
            self._entries.clear()
        self._trusted_until = looked_at + self.trusted_for


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authentication error: a Bearer token is required")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """The caller: from its bearer token, or, for a stored request the worker replays, the
    principal that sent it (set in the ASGI scope, which no client can reach)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:  # authenticated already, as the route admitted the request
        return known
    principal = request.scope.get(SCOPE_PRINCIPAL)
    if principal is None:
        principal = await _principal_for_bearer(request)
    _check_tenant_scope_headers(request, principal)
    request.state.principal = principal
    return principal


async def _principal_for_bearer(request: Request) -> Principal:
    token = bearer_token(request)
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(token)
    if principal is None:
        generation = cache.generation
        # A short read of its own: a token lookup must not hold up, or wait for, writers.
        async with request.app.state.database.read_transaction() as session:
            principal, expires_at = await service.principal_for_token(
                session, token, cache.clock.now()
            )
        cache.put(token, principal, expires_at, generation)
    return principal


def _check_tenant_scope_headers(request: Request, principal: Principal) -> None:
    """Multi-entity and multi-org are out of scope: only the caller's own tenant may be named."""
    for header in TENANT_SCOPE_HEADERS:
        value = request.headers.get(header)
        if value is None:
            continue
        named = {part.strip() for part in value.split(",") if part.strip()}
        if named - {principal.tenant_id}:
            raise PermissionDenied(
                f"{header.title()} may name only the caller's own tenant", resource=Resource.TENANT
            )


async def require_administrator(
    principal: Annotated[Principal, Depends(authenticate)],
) -> Principal:
    if not principal.is_administrator:
        raise PermissionDenied("This operation needs an administrator role", resource=Resource.AUTH)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
AdministratorPrincipal = Annotated[Principal, Depends(require_administrator)]
