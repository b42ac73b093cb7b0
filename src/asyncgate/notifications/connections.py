"""Connections for callouts: HTTP/1.1 over kept-alive connections to vetted addresses only.

The guard resolves a callout's host and checks every address before each send; were the HTTP
client to resolve the name again when it connects, a DNS answer that changed in between (DNS
rebinding) would lead it somewhere unchecked. So nothing here resolves: a connection is made to
an address of the :class:`~asyncgate.notifications.urls.VettedUrl` it is asked for, and a kept
connection is reused only for the same origin (scheme, host, port) and only while its address is
still among the vetted ones. The ``Host`` header, TLS's server name and the certificate check
are the URL's host.

The protocol is the small part of HTTP/1.1 a callout needs: one request at a time per
connection, a body with ``Content-Length``, answers parsed by httptools (uvicorn's parser:
lengths, chunks, keep-alive), at most ``limit`` bytes of an answer kept (a connection whose
answer was cut short is closed, not reused), redirects left to the caller. A general-purpose
client costs several times the CPU per request (see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import cast

import httptools

from asyncgate.notifications.urls import IPAddress, Origin, VettedUrl

IDLE_SECONDS = 15.0  # a kept connection idle for longer is closed, not reused


class Failure(StrEnum):
    CONNECT = "connect"
    TLS = "tls"
    NETWORK = "network"  # the connection broke, or the answer was not HTTP


class ExchangeFailed(Exception):
    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # by lower-case name
    content: bytes  # at most the ``limit`` asked for


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's certificate authorities, and those of ``ca_bundle`` when given."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class CalloutConnections:
    """A pool of kept-alive connections, at most ``max_connections`` exchanges at once and at
    most ``max_per_origin`` of them with one origin (a slow receiver holds no more)."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        max_connections: int,
        max_per_origin: int,
        connect_timeout: float,
    ) -> None:
        self._context = context
        self._connect_timeout = connect_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._max_per_origin = max_per_origin
        self._origin_slots: dict[Origin, asyncio.Semaphore] = {}
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)

    async def exchange(
        self,
        vetted: VettedUrl,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        limit: int,
    ) -> Answer:
        """Send one request (``target``: path and query) to ``vetted``'s origin and read its
        answer; :class:`ExchangeFailed` when no answer came."""
        url = vetted.url
        origin = (url.scheme, url.raw_host or "", vetted.port)
        head = _head(method, target, url.raw_authority or "", headers, body)
        origin_slots = self._origin_slots.get(origin)
        if origin_slots is None:
            origin_slots = self._origin_slots[origin] = asyncio.Semaphore(self._max_per_origin)
        async with origin_slots, self._slots:
            connection = self._kept(origin, vetted.addresses) or await self._connect(vetted)
            try:
                answer = await connection.exchange(head + body, limit)
            except BaseException:
                connection.close()
                raise
            if connection.reusable:
                self._idle[origin].append(connection)
            else:
                connection.close()
            return answer

    async def close(self) -> None:
        for kept in self._idle.values():
            for connection in kept:
                connection.close()
        self._idle.clear()

    def _kept(self, origin: Origin, addresses: tuple[IPAddress, ...]) -> _Connection | None:
        kept = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while kept:
            connection = kept.pop()
            fresh = now - connection.idle_since < IDLE_SECONDS
            if connection.reusable and fresh and connection.address in addresses:
                return connection
            connection.close()
        return None

    async def _connect(self, vetted: VettedUrl) -> _Connection:
        """A new connection to the first of the vetted addresses that answers."""
        loop = asyncio.get_running_loop()
        https = vetted.url.scheme == "https"
        host = vetted.url.raw_host or ""
        failure = ExchangeFailed(Failure.CONNECT, "no address to connect to")
        for address in vetted.addresses:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, connection = await loop.create_connection(
                        lambda address=address: _Connection(address),
                        str(address),
                        vetted.port,
                        ssl=self._context if https else None,
                        server_hostname=host if https else None,
                    )
                return connection
            except ssl.SSLError as refused:
                raise ExchangeFailed(Failure.TLS, _describe(refused)) from None
            except OSError as refused:
                failure = ExchangeFailed(Failure.CONNECT, _describe(refused))
        raise failure


def _head(
    method: str, target: str, authority: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time; httptools calls the ``on_*`` methods."""

    def __init__(self, address: IPAddress) -> None:
        self.address = address
        self.idle_since = 0.0
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[Answer] | None = None
        self._limit = 0
        self._headers: dict[str, str] = {}
        self._headers_done = False
        self._content = bytearray()
        self._complete = False  # the last answer was read to its end
        self._keep_alive = False  # and said the connection stays open
        self._lost = False

    @property
    def reusable(self) -> bool:
        return self._complete and self._keep_alive and not self._lost

    async def exchange(self, request: bytes, limit: int) -> Answer:
        assert self._transport is not None and self._answer is None
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._limit = limit
        self._headers = {}
        self._headers_done = False
        self._content = bytearray()
        self._complete = False
        self._transport.write(request)
        try:
            return await self._answer
        finally:
            self._answer = None
            self.idle_since = loop.time()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # -- asyncio's callbacks --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self._answer is None:  # nothing was asked: the connection is of no more use
            self._lost = True
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the receiver switched protocols")
        except httptools.HttpParserError as error:
            self._fail(f"the answer is not HTTP/1.1: {_describe(error)}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._transport = None
        if self._answer is not None and not self._answer.done():
            if self._headers_done and not self._length_known():  # an answer ended by EOF
                self._finish()
            else:
                reason = _describe(exc) if exc else "the receiver closed the connection"
                self._answer.set_exception(ExchangeFailed(Failure.NETWORK, reason))

    # -- httptools' callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        room = self._limit - len(self._content)
        self._content += body[:room]
        if len(body) >= room:  # the rest is not read: this connection ends here
            self._lost = True
            self._finish()
            self.close()

    def on_message_complete(self) -> None:
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive()  # only known until the next one
        self._finish()

    # -- internals ------------------------------------------------------------------------------

    def _length_known(self) -> bool:
        return "content-length" in self._headers or "transfer-encoding" in self._headers

    def _finish(self) -> None:
        if self._answer is not None and not self._answer.done():
            status = self._parser.get_status_code()
            answer = Answer(status, self._headers, bytes(self._content))
            self._answer.set_result(answer)

    def _fail(self, reason: str) -> None:
        self._lost = True
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ExchangeFailed(Failure.NETWORK, reason))
        self.close()
