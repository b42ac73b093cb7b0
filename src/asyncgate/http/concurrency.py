"""Each tenant's concurrent request limits, held across the processes of the service.

Zuora counts a tenant's uncompleted requests in pools: ``Default`` (40) and ``High-volume
transactions`` (200, for the operations it names). A process admits a request while the slots
it leases from the pool (see :mod:`asyncgate.http.limit_store`) are not all in use, with no
database access; when they are, it asks for more, for every request then waiting at once, and
refuses the request when the pool has none left. Once a second a keeper renews this process's
leases and gives back the slots it did not need since its last look, so that a burst here
does not keep slots from the other processes for long. With no lease left the keeper stops:
an idle process writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import NamedTuple

from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.http.limit_store import LEASE_SECONDS, LimitStore

log = logging.getLogger(__name__)

KEEP_SECONDS = 1.0


class Pool(NamedTuple):
    name: str  # as ``Concurrency-Limit-Type`` names it
    limit: int  # 0 turns the limit off


@dataclass(slots=True)
class _Lease:
    """This process's part of one tenant's pool."""

    held: int = 0  # slots leased
    in_use: int = 0  # of which taken by requests in flight
    peak: int = 0  # most in use since the keeper last looked
    others: int = 0  # slots other processes held when last seen
    seen_at: float = -KEEP_SECONDS  # when that was (monotonic seconds)
    waiting: int = 0  # requests waiting for more slots


class ConcurrencyPools:
    """This process's leases of every tenant's pools."""

    def __init__(self, store: LimitStore, clock: Clock = SYSTEM_CLOCK) -> None:
        self.store = store
        self.clock = clock
        self._leases: dict[tuple[str, str], _Lease] = {}
        # One store write of this process at a time: a renewal must not undo a growth.
        self._writing = asyncio.Lock()
        self._keeper: asyncio.Task[None] | None = None

    async def take(self, tenant_id: str, pool: Pool) -> bool:
        """Takes a slot of the tenant's pool for one request, or says there is none."""
        key = (tenant_id, pool.name)
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = _Lease()
        if self._take_held(lease):
            return True
        if self._known_full(lease, pool):
            return False
        lease.waiting += 1
        try:
            async with self._writing:
                if self._take_held(lease):
                    return True
                added, lease.others = await self.store.grow_lease(
                    tenant_id, pool.name, lease.held, lease.waiting, pool.limit, self.clock.epoch()
                )
                lease.seen_at = self.clock.monotonic()
                lease.held += added
                self._keep_leases()
                return self._take_held(lease)
        finally:
            lease.waiting -= 1

    def give_back(self, tenant_id: str, pool: Pool) -> None:
        """Frees the slot a request took; the lease keeps it until the keeper's next look.
        (A request that ends after :meth:`close` has nothing left to free.)"""
        lease = self._leases.get((tenant_id, pool.name))
        if lease is not None:
            lease.in_use -= 1

    def remaining(self, tenant_id: str, pool: Pool) -> int:
        """Slots of the pool no request of any process uses, as far as this process knows."""
        lease = self._leases.get((tenant_id, pool.name))
        if lease is None:
            return pool.limit
        return max(0, pool.limit - lease.others - lease.in_use)

    async def close(self) -> None:
        """Gives every slot back at once, rather than when the leases expire (which they do
        anyway when the database cannot be reached)."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._leases:
            self._leases.clear()
            try:
                async with self._writing:
                    await self.store.renew({}, self.clock.epoch())
            except Exception:
                log.exception(
                    "giving concurrency slots back failed; they come back in %g s", LEASE_SECONDS
                )

    @staticmethod
    def _take_held(lease: _Lease) -> bool:
        if lease.in_use >= lease.held:
            return False
        lease.in_use += 1
        lease.peak = max(lease.peak, lease.in_use)
        return True

    def _known_full(self, lease: _Lease, pool: Pool) -> bool:
        """Whether the pool was full when last seen, less than a keeper's look ago: refused
        without asking again, so that a tenant past its limit costs no write per request.
        Slots other processes give back are seen within a second, as they give them back."""
        return (
            lease.held + lease.others >= pool.limit
            and self.clock.monotonic() - lease.seen_at < KEEP_SECONDS
        )

    def _keep_leases(self) -> None:
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep(), name="concurrency-lease-keeper")

    async def _keep(self) -> None:
        while self._leases:
            await asyncio.sleep(KEEP_SECONDS)
            try:
                async with self._writing:
                    await self.renew()
            except Exception:
                log.exception("renewing concurrency leases failed; trying again")

    async def renew(self) -> None:
        """Renews the leases, cut down to what their peaks needed since the last look."""
        kept: dict[tuple[str, str], int] = {}
        for key, lease in list(self._leases.items()):
            lease.held = min(lease.held, max(lease.peak, lease.in_use))
            lease.peak = lease.in_use
            if lease.held:
                kept[key] = lease.held
            elif not lease.waiting:
                del self._leases[key]
        others = await self.store.renew(kept, self.clock.epoch())
        seen_at = self.clock.monotonic()
        for key, lease in self._leases.items():
            lease.others, lease.seen_at = others.get(key, 0), seen_at
