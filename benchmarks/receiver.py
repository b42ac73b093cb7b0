"""A callout receiver fast enough not to be what a benchmark measures, in a process of its own.

An asyncio HTTPS server (uvloop, httptools' parser, keep-alive, a trustme certificate) that
answers every request ``200 {"success": true}`` at once, or after a delay for the paths told
to hang, and records, per request, its ``Zuora-Notification-Id``, the request ID the callout
names, the moment it arrived and what it was answered. It absorbs well over 5,000 callouts/s
on one CPU.

    with ReceiverProcess(folder) as receiver:      # writes receiver.ca_path, then serves
        ... receiver.url("/bench") ...             # a server trusts it with server_settings()
        receiver.wait_for(20_000, timeout=120)     # [Arrival(notification ID, request ID, ...)]

Given ``Faults``, it misbehaves instead on a share of the requests: it answers 500 or 503,
answers nothing and closes the connection only after a while, or resets the connection. Which
requests is decided from a seed, the async request's track ID that the callout names (its
notification ID when it names none) and how many times a callout with that key arrived before:
a rerun with the same seed whose requests carry the same track IDs meets the same faults.

Used by ``callouts.py``, the fault soak (``soak.py``) and the peer comparison (``peer/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import socket
import ssl
import struct
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Self, cast

import orjson

READY_SECONDS = 30
OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    b'{"success": true}'
)
FAILURES = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
)
# SO_LINGER on, with a timeout of 0: closing the socket sends a reset instead of a FIN.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)

# What the receiver did with a request: answered 200 (at once, or late on a hanging path),
# answered 500 or 503, answered nothing until it closed the connection, reset the connection.
OK_ANSWER, FAILED, HUNG, RESET = "ok", "failed", "hung", "reset"


@dataclass(frozen=True, slots=True)
class Arrival:
    notification_id: str | None
    request_id: str | None  # the async request the callout is about
    at: float  # time.time()
    path: str
    answer: str = OK_ANSWER


@dataclass(frozen=True, slots=True)
class Faults:
    """Shares of the requests a receiver fails (500 or 503), hangs on (no answer, then the
    connection closed after ``hang_seconds``) and resets the connection of; the rest it
    answers 200. Decided per request from ``seed``, its key (see ``key``) and how many times
    the key arrived before."""

    seed: int
    fail: float = 0.20
    hang: float = 0.05
    reset: float = 0.03
    hang_seconds: float = 5.0

    @staticmethod
    def key(notification_id: str | None, body: bytes) -> str | None:
        """The track ID of the async request a callout names, else its notification ID."""
        with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
            if track_id := orjson.loads(body)["request"]["trackId"]:
                return f"track {track_id}"
        return notification_id

    def answer(self, key: str | None, earlier: int) -> str:
        drawn = f"{self.seed}:{key}:{earlier}".encode()
        draw = int.from_bytes(hashlib.blake2b(drawn, digest_size=8).digest()) / 2**64
        if draw < self.fail:
            return FAILED
        if draw < self.fail + self.hang:
            return HUNG
        if draw < self.fail + self.hang + self.reset:
            return RESET
        return OK_ANSWER


def definition_body(
    name: str, url: str, event_type: str = "Async Request Succeeded"
) -> dict[str, object]:
    """A notification definition that sends every event of ``event_type`` to ``url``."""
    return {
        "name": name,
        "eventTypeName": event_type,
        "calloutActive": True,
        "callout": {
            "name": name,
            "eventTypeName": event_type,
            "calloutBaseurl": url,
            "httpMethod": "POST",
            "requiredAuth": False,
        },
    }


def server_settings(ca_bundle: Path) -> dict[str, str]:
    """The settings a server needs to send callouts to receivers of this module: on loopback,
    with a port in their URLs, their certificates signed by the CAs of ``ca_bundle``."""
    return {
        "ASYNCGATE_CALLOUT_ALLOW_PRIVATE_ADDRESSES": "true",
        "ASYNCGATE_CALLOUT_ALLOW_PORTS": "true",
        "ASYNCGATE_CALLOUT_CA_BUNDLE": str(ca_bundle),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReceiverProcess:
    """The receiver's process, and the pipe the benchmark asks it through."""

    def __init__(
        self,
        folder: Path,
        host: str = "127.0.0.1",
        hanging: Iterable[str] = (),
        name: str = "receiver",
        faults: Faults | None = None,
    ) -> None:
        self.host = host
        self.port = free_port()
        self.ca_path = folder / f"{name}-ca.pem"
        self._hanging = tuple(hanging)
        self._pipe, child_end = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve,
            args=(host, self.port, str(self.ca_path), self._hanging, faults, child_end),
            daemon=True,
        )

    def start(self) -> Self:
        self._process.start()
        if not self._pipe.poll(READY_SECONDS) or self._pipe.recv() != "ready":
            raise RuntimeError("the receiver did not start")
        return self

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def url(self, path: str) -> str:
        return f"https://{self.host}:{self.port}{path}"

    def count(self) -> int:
        """How many requests have arrived so far."""
        self._pipe.send(("count",))
        return self._pipe.recv()

    def wait_for(self, count: int, timeout: float) -> list[Arrival]:
        """Every arrival, once ``count`` have arrived or ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.take()

    def take(self) -> list[Arrival]:
        """Every arrival so far, which the receiver then forgets."""
        self._pipe.send(("take",))
        return [Arrival(*fields) for fields in self._pipe.recv()]


def _serve(
    host: str,
    port: int,
    ca_path: str,
    hanging: tuple[str, ...],
    faults: Faults | None,
    pipe: Connection,
) -> None:
    import trustme
    import uvloop

    ca = trustme.CA()
    ca.cert_pem.write_to_path(ca_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    uvloop.run(_main(host, port, context, hanging, faults, pipe))


# What the serving path records of one request: notification ID, body, moment, path, answer.
Recorded = tuple[str | None, bytes, float, str, str]


async def _main(
    host: str,
    port: int,
    context: ssl.SSLContext,
    hanging: tuple[str, ...],
    faults: Faults | None,
    pipe: Connection,
) -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[Recorded] = []
    seen = Counter[str | None]()  # arrivals per key of Faults, kept across takes
    server = await loop.create_server(
        lambda: _Connection(arrivals, hanging, faults, seen), host, port, ssl=context, backlog=1024
    )
    pipe.send("ready")
    async with server:
        while True:
            await asyncio.to_thread(pipe.poll, None)
            (command,) = pipe.recv()
            if command == "count":
                pipe.send(len(arrivals))
            elif command == "take":
                taken, arrivals[:] = list(arrivals), []
                pipe.send(_with_request_ids(taken))


def _with_request_ids(
    taken: list[Recorded],
) -> list[tuple[str | None, str | None, float, str, str]]:
    """The bodies parsed only now, off the serving path: the ID of the request each names."""
    named = []
    for notification_id, body, at, path, answer in taken:
        request_id = None
        if body:
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                request_id = orjson.loads(body)["request"]["id"]
        named.append((notification_id, request_id, at, path, answer))
    return named


class _Connection(asyncio.Protocol):
    def __init__(
        self,
        arrivals: list[Recorded],
        hanging: tuple[str, ...],
        faults: Faults | None,
        seen: Counter[str | None],
    ) -> None:
        import httptools

        self._arrivals = arrivals
        self._hanging = hanging
        self._faults = faults
        self._seen = seen
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._notification_id: str | None = None
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except Exception:  # not HTTP: the benchmark's sender never sends that
            assert self._transport is not None
            self._transport.close()

    # httptools' callbacks
    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"zuora-notification-id":
            self._notification_id = value.decode()

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        path = self._url.split(b"?", 1)[0].decode()
        notification_id = self._notification_id
        answer = OK_ANSWER
        if self._faults is not None:
            key = self._faults.key(notification_id, self._body)
            answer = self._faults.answer(key, self._seen[key])
            self._seen[key] += 1
        self._arrivals.append((notification_id, bytes(self._body), time.time(), path, answer))
        self._reset()
        transport = self._transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        if answer == FAILED:
            transport.write(FAILURES[len(self._arrivals) % 2])
        elif answer == HUNG:
            assert self._faults is not None
            loop.call_later(self._faults.hang_seconds, transport.close)
        elif answer == RESET:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            transport.abort()
        elif path in self._hanging:
            loop.call_later(5, self._answer)
        else:
            self._answer()

    def _answer(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(OK)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
