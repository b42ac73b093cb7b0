"""The hand-off between a worker process and a sender process, over a local socket.

With ``ASYNCGATE_SERVE_SENDER_PROCESS``, ``asyncgate serve`` runs execution and delivery in
two processes, so that they use two CPUs. The worker process still hands the deliveries its
commits make straight to a sender, as ``handoff`` does within one process, but the sender is in
the other process:

- the sender process listens on a Unix socket (:func:`serve_link`) and tells each worker that
  connects who it is (the owner its leases are written under), how many more deliveries it
  takes, and which definitions it does not take now (a busy receiver's), again whenever that
  changes;
- in the worker process, :class:`LinkedSender` stands for it (a ``handoff.Taker``): deliveries
  are inserted held under the sender's lease, and once the commit is done they go over the
  socket with everything their first attempt needs; the sender takes them into its hand.

Nothing is lost when either side goes away: what was handed over and not yet recorded waits
for its lease to expire, then is claimed again, as after any crash. A worker that is not
connected hands nothing over, and its deliveries wait ``pending`` for a claim.

Frames are a 4-byte length, then JSON. The socket lives in a folder only the service's user
may enter (``serve`` makes it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import struct
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import inspect

from asyncgate.asyncreq.wakeup import wait_for_wake
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.db.base import Base, UTCDateTime
from asyncgate.notifications.handoff import LoadedDelivery
from asyncgate.notifications.models import Callout, CalloutSettings, NotificationDefinition

log = logging.getLogger("asyncgate.sender")

_LENGTH = struct.Struct("!I")
# The sender's state is told at most this often, and only when it changed.
STATUS_INTERVAL_SECONDS = 0.005
# A local socket: the sender process is usually up within a second or two.
RETRY_SECONDS = 0.1

E = TypeVar("E", bound=Base)


class LinkedTaker(Protocol):
    """What the sender process offers the link: a ``Sender``."""

    owner: str
    wake: asyncio.Event
    hand_changed: asyncio.Event

    def room(self) -> int: ...
    def refused_definitions(self) -> list[str]: ...
    def take(self, deliveries: Sequence[LoadedDelivery]) -> None: ...


# -- frames ------------------------------------------------------------------------------------


def encode_frame(message: dict[str, Any]) -> bytes:
    body = orjson.dumps(message)
    return _LENGTH.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    message = orjson.loads(await reader.readexactly(length))
    if not isinstance(message, dict):
        raise ValueError("a frame that is not an object")
    return message


def deliveries_message(owner: str, deliveries: Sequence[LoadedDelivery]) -> dict[str, Any]:
    """The frame that hands ``deliveries`` (leased to ``owner``) over; each definition, callout
    and tenant's settings is written once however many deliveries share it."""
    definitions: dict[str, Any] = {}
    callouts: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    rows = []
    for delivery in deliveries:
        if delivery.definition is not None and delivery.definition_id not in definitions:
            definitions[delivery.definition_id] = _snapshot(delivery.definition)
        if delivery.callout is not None and delivery.definition_id not in callouts:
            callouts[delivery.definition_id] = _snapshot(delivery.callout)
        if delivery.tenant_id not in settings:
            settings[delivery.tenant_id] = _snapshot(delivery.tenant_settings)
        rows.append(
            [
                delivery.id,
                delivery.tenant_id,
                delivery.definition_id,
                delivery.attempts,
                delivery.max_attempts,
                delivery.payload,
            ]
        )
    return {
        "owner": owner,
        "deliveries": rows,
        "definitions": definitions,
        "callouts": callouts,
        "settings": settings,
    }


def handed_deliveries(message: dict[str, Any]) -> list[LoadedDelivery]:
    """The deliveries of a :func:`deliveries_message`."""
    definitions = _restored_all(NotificationDefinition, message["definitions"])
    callouts = _restored_all(Callout, message["callouts"])
    settings = _restored_all(CalloutSettings, message["settings"])
    return [
        LoadedDelivery(
            id=delivery_id,
            tenant_id=tenant_id,
            definition_id=definition_id,
            attempts=attempts,
            max_attempts=max_attempts,
            payload=payload,
            definition=definitions.get(definition_id),
            callout=callouts.get(definition_id),
            tenant_settings=settings[tenant_id],
        )
        for delivery_id, tenant_id, definition_id, attempts, max_attempts, payload in message[
            "deliveries"
        ]
    ]


def _snapshot(entity: Base) -> dict[str, Any]:
    return {key: getattr(entity, key) for key in _columns(type(entity))}


@functools.cache
def _columns(model: type[Base]) -> tuple[str, ...]:
    return tuple(attribute.key for attribute in inspect(model).column_attrs)


@functools.cache
def _timestamp_columns(model: type[Base]) -> frozenset[str]:
    """The columns JSON carries as text, which come back as datetimes."""
    columns = inspect(model).column_attrs
    return frozenset(a.key for a in columns if isinstance(a.columns[0].type, UTCDateTime))


def _restored_all(model: type[E], snapshots: dict[str, dict[str, Any]]) -> dict[str, E]:
    """Detached copies of rows, by key, as :func:`_snapshot` wrote them."""
    times = _timestamp_columns(model)

    def restored(values: dict[str, Any]) -> E:
        for name in times:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        return model(**values)

    return {key: restored(values) for key, values in snapshots.items()}


# -- the sender process's side ------------------------------------------------------------------


async def serve_link(path: str, sender: LinkedTaker, stop: asyncio.Event) -> None:
    """Take deliveries handed over by the worker processes that connect to ``path``, until
    ``stop``."""

    serving: set[asyncio.Task[None]] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        serving.add(task)
        try:
            await _serve_worker(reader, writer, sender)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away: what it handed over is held here, or leased
        except Exception:
            log.exception("a worker's hand-off failed; its deliveries wait for their lease")
        finally:
            serving.discard(task)
            writer.close()

    server = await asyncio.start_unix_server(connected, path)
    try:
        await stop.wait()
    finally:
        server.close()
        for task in list(serving):  # the workers learn at once that no one takes any more
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)
        await server.wait_closed()


async def _serve_worker(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sender: LinkedTaker
) -> None:
    taken = 0

    def status() -> tuple[int, int, list[str]]:
        return taken, sender.room(), sender.refused_definitions()

    async def tell_status() -> None:
        told = None
        while True:
            if (now := status()) != told:
                told = now
                writer.write(
                    encode_frame(
                        {"owner": sender.owner, "taken": now[0], "room": now[1], "refused": now[2]}
                    )
                )
            await asyncio.sleep(STATUS_INTERVAL_SECONDS)
            if status() == told:  # idle: nothing to tell until the hand changes
                sender.hand_changed.clear()  # the other workers' loops look again themselves
                await sender.hand_changed.wait()

    telling = asyncio.create_task(tell_status())
    try:
        while True:
            message = await read_frame(reader)
            if message.get("wake"):
                sender.wake.set()
                continue
            taken += len(message["deliveries"])
            if message["owner"] == sender.owner:
                sender.take(handed_deliveries(message))
            # Else leased to a sender that is gone: their lease expires, then a claim takes
            # them. Either way the worker learns they were taken.
            sender.hand_changed.set()
    finally:
        telling.cancel()
        with suppress(asyncio.CancelledError):
            await telling


# -- the worker process's side ------------------------------------------------------------------


class LinkedSender:
    """The sender of another process, as the worker's ``handoff.Taker``: deliveries are handed
    to it while it is connected and has room."""

    def __init__(self, path: str, lease: timedelta, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path
        self.lease = lease
        self.clock = clock
        self.owner = ""  # the connected sender's, once it has said
        self.wake = _Wake(self._send_wake)
        self._writer: asyncio.StreamWriter | None = None
        self._handed = 0  # deliveries handed over on this connection
        self._taken = 0  # of them, how many the sender had taken when it last told its room
        self._room = 0
        self._refused: frozenset[str] = frozenset()

    @property
    def connected(self) -> bool:
        return self._writer is not None and bool(self.owner)

    def room(self) -> int:
        if not self.connected:
            return 0
        return max(0, self._room - (self._handed - self._taken))

    def accepts(self, definition_id: str) -> bool:
        return self.connected and definition_id not in self._refused

    def lease_expiry(self) -> datetime:
        return self.clock.now() + self.lease

    def take(self, deliveries: Sequence[LoadedDelivery]) -> None:
        if self._writer is None:
            return  # the sender went away since: the deliveries wait for their lease
        self._writer.write(encode_frame(deliveries_message(self.owner, deliveries)))
        self._handed += len(deliveries)

    def _send_wake(self) -> None:
        if self._writer is not None:
            self._writer.write(encode_frame({"wake": True}))

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected to the sender until ``stop``, connecting again whenever the
        connection ends (the sender process restarts, say)."""
        never = asyncio.Event()
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
            except OSError as error:
                log.debug("the sender process is not listening yet (%s)", error)
            else:
                await _until_either(self._follow(reader, writer), stop)
            await wait_for_wake(stop, never, timedelta(seconds=RETRY_SECONDS))

    async def _follow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer, self._handed, self._taken = writer, 0, 0
        try:
            while True:
                status = await read_frame(reader)
                self.owner = status["owner"]
                self._taken, self._room = status["taken"], status["room"]
                self._refused = frozenset(status["refused"])
        except (asyncio.IncompleteReadError, ConnectionError):
            log.warning("lost the sender process; callouts wait for a claim until it is back")
        finally:
            self._writer, self.owner, self._room = None, "", 0
            writer.close()


class _Wake:
    """``Taker.wake`` of a sender in another process: asks it to claim."""

    def __init__(self, send: Callable[[], None]) -> None:
        self.set = send


async def _until_either(work: Awaitable[None], stop: asyncio.Event) -> None:
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopping):
            pending.cancel()
            with suppress(asyncio.CancelledError):
                await pending
