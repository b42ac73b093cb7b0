"""The sender's hand: the deliveries it holds, and which of them goes out next.

At most ``concurrency`` sends are under way, and at most ``per_origin`` of them to one origin
(scheme, host and port). A delivery whose origin has all its sends under way waits aside,
holding no sending slot, so that a slow or hanging receiver keeps only its own slots busy and
other receivers' deliveries go out meanwhile. While an origin is that busy (or has
deliveries set aside), its definitions are not claimed (:meth:`Hand.busy_definitions`): its
backlog stays in the database, where it waits for its turn without filling the hand. What a
commit hands over is taken until ``concurrency`` deliveries of its origin wait aside
(:meth:`Hand.accepts`): a batch that finds its receiver busy with the one before waits in
hand for a few milliseconds rather than in the database for a claim.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from asyncgate.notifications.urls import Origin


class Held(Protocol):
    @property
    def definition_id(self) -> str: ...

    @property
    def origin(self) -> Origin | None: ...  # None: nothing goes over the network


H = TypeVar("H", bound=Held)


class Hand(Generic[H]):
    def __init__(self, concurrency: int, per_origin: int) -> None:
        self.size = 2 * concurrency  # held at most, by claims (hand-overs may add a few more)
        self._concurrency = concurrency
        self._per_origin = per_origin
        self._ready: deque[H] = deque()
        self._aside: defaultdict[Origin, deque[H]] = defaultdict(deque)
        self._sending: Counter[Origin | None] = Counter()
        self._definitions: defaultdict[Origin, set[str]] = defaultdict(set)

    def __len__(self) -> int:
        """How many wait to be sent."""
        return len(self._ready) + sum(map(len, self._aside.values()))

    @property
    def ready(self) -> int:
        """How many wait for a sending slot (not those set aside for a busy origin)."""
        return len(self._ready)

    @property
    def sending(self) -> int:
        return self._sending.total()

    def room(self) -> int:
        """How many more to hold: deliveries set aside for a busy origin take none."""
        return max(0, self.size - len(self._ready) - self.sending)

    def add(self, deliveries: Iterable[H]) -> None:
        for delivery in deliveries:
            if delivery.origin is not None:
                self._definitions[delivery.origin].add(delivery.definition_id)
            self._ready.append(delivery)

    def next_to_send(self) -> H | None:
        """The next delivery to send, counted as under way; None when none may go now."""
        while self._ready and self.sending < self._concurrency:
            delivery = self._ready.popleft()
            origin = delivery.origin
            if origin is not None and self._sending[origin] >= self._per_origin:
                self._aside[origin].append(delivery)
                continue
            self._sending[origin] += 1
            return delivery
        return None

    def sent(self, delivery: H) -> bool:
        """``delivery``'s send is over: its slots are free, and a delivery set aside for its
        origin comes back first in line. True when its origin was busy until now (its
        backlog may be claimed again)."""
        origin = delivery.origin
        was_busy = self._busy(origin)
        self._sending[origin] -= 1
        if not self._sending[origin]:
            del self._sending[origin]
        if origin is not None and (aside := self._aside.get(origin)):
            self._ready.appendleft(aside.popleft())
            if not aside:
                del self._aside[origin]
        return was_busy and not self._busy(origin)

    def take_waiting(self) -> list[H]:
        """Every delivery that waits to be sent, no longer held here."""
        waiting = [*self._ready, *(d for aside in self._aside.values() for d in aside)]
        self._ready.clear()
        self._aside.clear()
        return waiting

    def busy_definitions(self) -> list[str]:
        """The definitions of origins with every send under way, or deliveries set aside."""
        busy = {o for o in self._sending if o is not None and self._busy(o)} | self._aside.keys()
        return [definition_id for origin in busy for definition_id in self._definitions[origin]]

    def _busy(self, origin: Origin | None) -> bool:
        if origin is None:
            return False
        return self._sending[origin] >= self._per_origin or origin in self._aside

    def accepts(self, definition_id: str) -> bool:
        """Whether deliveries of this definition are taken when handed over."""
        return not any(definition_id in self._definitions[origin] for origin in self._full())

    def refused_definitions(self) -> list[str]:
        """The definitions :meth:`accepts` refuses."""
        return [
            definition_id for origin in self._full() for definition_id in self._definitions[origin]
        ]

    def _full(self) -> list[Origin]:
        """The origins with as many deliveries aside as the hand sends at once."""
        return [origin for origin, aside in self._aside.items() if len(aside) >= self._concurrency]
