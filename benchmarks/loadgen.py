"""A low-overhead HTTP/1.1 load generator, spread over separate processes.

Each process runs uvloop with plain ``asyncio.Protocol`` connections: keep-alive, one request in
flight per connection, pre-built request bytes, a minimal response parser, and no coroutine or
future per request (answers drive the next request from the protocol callback). The client thus
costs far less CPU per request than the server it measures; every phase reports the client's
CPU time to show it.

Two ways to drive the server:

- **open loop**: requests fall due at fixed instants (``start + i / rate``) whatever the server
  does. A due request goes out on an idle connection, or waits for the first connection to free
  up. Its latency is measured from the instant it was *due*, not from when it could be sent, so
  a stalled server cannot hide its stall (no coordinated omission).
- **closed loop** (saturation): every connection sends its next request as soon as the previous
  answer arrives; latency is the plain service time.

For requests that differ one from the next and whose answers the caller reads (the fault soak's),
``KeptConnections`` sends each one's bytes on a kept-alive connection of a small pool, in the
caller's event loop, and returns the status and body: a few hundred microseconds of CPU per
request, where a general-purpose client spends several milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import socket
import time
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import httptools
import uvloop

CONNECT_TIMEOUT_SECONDS = 5.0
# A kept connection idle this long is closed rather than reused: the server may be closing it
# (uvicorn closes idle connections after 5 s).
KEPT_IDLE_SECONDS = 3.0
# uvloop's timers count whole milliseconds: a shorter sleep returns at once and would spin.
TIMER_RESOLUTION_SECONDS = 0.001


def build_request(
    method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The exact bytes of one request; sent unchanged on every repetition."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True)
class Job:
    """One process's share of a load phase."""

    host: str
    port: int
    request: bytes
    duration: float
    connections: int
    start_at: float  # a time.monotonic() instant (CLOCK_MONOTONIC: the same in every process)
    rate: float | None = None  # open loop: requests/s of this process; None: closed loop
    max_requests: int | None = None  # closed loop: stop after this many requests
    grace: float = 5.0  # open loop: answers later than this after the last due time are lost


@dataclass
class Result:
    """What one process measured; merged by the parent."""

    latencies: array = field(default_factory=lambda: array("d"))  # s, from due time (or send)
    service_times: array = field(default_factory=lambda: array("d"))  # s, from send time
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0  # requests whose connection failed
    lost: int = 0  # open loop: requests unanswered at the end of the grace period
    first_send: float = math.inf
    last_answer: float = 0.0
    cpu_seconds: float = 0.0

    def merge(self, other: Result) -> None:
        self.latencies.extend(other.latencies)
        self.service_times.extend(other.service_times)
        self.statuses.update(other.statuses)
        self.errors += other.errors
        self.lost += other.lost
        self.first_send = min(self.first_send, other.first_send)
        self.last_answer = max(self.last_answer, other.last_answer)
        self.cpu_seconds += other.cpu_seconds


class _Driver:
    """Decides what a connection does next; shared by the connections of one process."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.result = Result()
        self.done = asyncio.get_running_loop().create_future()
        self.connections: list[_Connection] = []

    def record(self, due: float, sent: float, status: int) -> None:
        answered = time.monotonic()
        result = self.result
        result.latencies.append(answered - min(due, sent))
        result.service_times.append(answered - sent)
        result.statuses[status] += 1
        result.first_send = min(result.first_send, sent)
        result.last_answer = answered

    def answered(self, connection: _Connection, due: float, sent: float, status: int) -> None:
        raise NotImplementedError

    def failed(self, connection: _Connection) -> None:
        raise NotImplementedError


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, driver: _Driver) -> None:
        self.driver = driver
        self.request = driver.job.request
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.total = -1  # bytes of the answer being read, once its head is complete
        self.status = 0
        self.due = self.sent = 0.0
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.driver.failed(self)

    def send(self, due: float) -> None:
        self.due, self.sent, self.busy = due, time.monotonic(), True
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.total < 0:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self.buffer[:head_end]).lower()
            self.status = int(head[9:12])
            marker = head.find(b"content-length:")
            if marker < 0:  # the server never sends another kind of answer here
                self.transport.close()  # type: ignore[union-attr]
                return
            line_end = head.find(b"\r\n", marker)
            self.total = head_end + 4 + int(head[marker + 15 : line_end if line_end > 0 else None])
        if len(self.buffer) >= self.total:
            del self.buffer[: self.total]
            self.total = -1
            self.busy = False
            self.driver.answered(self, self.due, self.sent, self.status)


class _OpenLoop(_Driver):
    def __init__(self, job: Job) -> None:
        super().__init__(job)
        assert job.rate is not None
        self.total = max(1, round(job.rate * job.duration))
        self.idle: deque[_Connection] = deque()  # first in, first out: all stay warm
        self.waiting: deque[float] = deque()  # due times of requests no connection took yet
        self.finished = 0

    def add(self, connection: _Connection) -> None:
        if self.waiting:
            connection.send(self.waiting.popleft())
        else:
            self.idle.append(connection)

    def due(self, instant: float) -> None:
        while self.idle:
            connection = self.idle.popleft()
            if connection.transport is not None:
                connection.send(instant)
                return
        self.waiting.append(instant)

    def answered(self, connection: _Connection, due: float, sent: float, status: int) -> None:
        self.record(due, sent, status)
        self._finish_one()
        if self.waiting:
            connection.send(self.waiting.popleft())
        else:
            self.idle.append(connection)

    def failed(self, connection: _Connection) -> None:
        if connection.busy:
            connection.busy = False
            self.result.errors += 1
            self._finish_one()
        asyncio.ensure_future(self._replace())

    async def _replace(self) -> None:
        with contextlib.suppress(TimeoutError, OSError):
            self.add(await _connect(self))

    def _finish_one(self) -> None:
        self.finished += 1
        if self.finished >= self.total and not self.done.done():
            self.done.set_result(None)

    async def run(self) -> None:
        job = self.job
        interval = 1.0 / job.rate  # type: ignore[operator]
        scheduled = 0
        while scheduled < self.total:
            # Hand out every request due before the timer can next wake us, then sleep until
            # the next one is. Sending up to a timer tick early keeps the wake-up delay out of
            # the latencies (measured from the send when that came first).
            horizon = time.monotonic() + TIMER_RESOLUTION_SECONDS - job.start_at
            due_now = min(self.total, math.floor(horizon / interval) + 1)
            for index in range(scheduled, due_now):
                self.due(job.start_at + index * interval)
            scheduled = max(scheduled, due_now)
            await _sleep_until(job.start_at + scheduled * interval - TIMER_RESOLUTION_SECONDS)
        try:
            await asyncio.wait_for(asyncio.shield(self.done), job.grace)
        except TimeoutError:
            self.result.lost = self.total - self.finished


class _ClosedLoop(_Driver):
    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.stop_at = job.start_at + job.duration
        self.budget = job.max_requests if job.max_requests is not None else math.inf
        self.active = 0

    def add(self, connection: _Connection) -> None:
        self.active += 1
        self._next(connection)

    def answered(self, connection: _Connection, due: float, sent: float, status: int) -> None:
        self.record(due, sent, status)
        self._next(connection)

    def failed(self, connection: _Connection) -> None:
        if connection.busy:
            connection.busy = False
            self.result.errors += 1
        self._retire()

    def _next(self, connection: _Connection) -> None:
        now = time.monotonic()
        if now < self.stop_at and self.budget > 0 and connection.transport is not None:
            self.budget -= 1
            connection.send(now)
        elif connection.transport is not None:
            connection.transport.close()  # connection_lost retires it

    def _retire(self) -> None:
        self.active -= 1
        if self.active <= 0 and not self.done.done():
            self.done.set_result(None)

    async def run(self) -> None:
        await self.done


async def _connect(driver: _Driver) -> _Connection:
    loop = asyncio.get_running_loop()
    _, connection = await asyncio.wait_for(
        loop.create_connection(lambda: _Connection(driver), driver.job.host, driver.job.port),
        CONNECT_TIMEOUT_SECONDS,
    )
    driver.connections.append(connection)
    return connection


async def _sleep_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        await asyncio.sleep(max(delay, TIMER_RESOLUTION_SECONDS))


async def _run(job: Job) -> Result:
    driver = _ClosedLoop(job) if job.rate is None else _OpenLoop(job)
    connections = await asyncio.gather(*(_connect(driver) for _ in range(job.connections)))
    await _sleep_until(job.start_at)
    cpu_before = time.process_time()
    for connection in connections:
        driver.add(connection)
    await driver.run()
    driver.result.cpu_seconds = time.process_time() - cpu_before
    ignore = _Ignore(job)
    for connection in driver.connections:
        connection.driver = ignore  # whatever still arrives is no longer counted
        if connection.transport is not None:
            connection.transport.close()
    return driver.result


class _Ignore(_Driver):
    def __init__(self, job: Job) -> None:
        self.job = job

    def answered(self, connection: _Connection, due: float, sent: float, status: int) -> None:
        pass

    def failed(self, connection: _Connection) -> None:
        pass


def _serve_jobs(jobs: Connection) -> None:
    """A load process: run each job received and send back its result; ``None`` ends it."""
    while (job := jobs.recv()) is not None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            jobs.send(runner.run(_run(job)))


class LoadGenerators:
    """A fixed set of load processes, started once and reused for every phase."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve_jobs, args=(theirs,), daemon=True)
            process.start()
            self._pipes.append(ours)
            self._processes.append(process)

    def run(
        self,
        *,
        host: str,
        port: int,
        request: bytes,
        duration: float,
        connections: int,
        rate: float | None = None,
        max_requests: int | None = None,
        grace: float = 5.0,
        lead_time: float = 0.3,
    ) -> Result:
        """Run one phase on every process at once; ``rate``, ``connections`` and
        ``max_requests`` are totals, shared out between the processes."""
        start_at = time.monotonic() + lead_time  # time for every process to connect first
        n = len(self._pipes)
        for index, pipe in enumerate(self._pipes):
            pipe.send(
                Job(
                    host=host,
                    port=port,
                    request=request,
                    duration=duration,
                    connections=_share(connections, n, index),
                    start_at=start_at,
                    rate=None if rate is None else rate / n,
                    max_requests=None if max_requests is None else _share(max_requests, n, index),
                    grace=grace,
                )
            )
        merged = Result()
        for pipe in self._pipes:
            merged.merge(pipe.recv())
        return merged

    def close(self) -> None:
        for pipe in self._pipes:
            pipe.send(None)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _share(total: int, parts: int, index: int) -> int:
    """``index``'s part of ``total`` split as evenly as possible (at least 1)."""
    return max(1, total // parts + (1 if index < total % parts else 0))


class KeptConnections:
    """Up to ``size`` keep-alive connections to one server, one request in flight on each;
    ``exchange`` waits for an idle one (or opens one), sends, and returns the answer's status
    and body. A connection that breaks fails its request with ``ConnectionError``, one that
    answers too late with ``TimeoutError``."""

    def __init__(self, host: str, port: int, size: int, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Exchange] = []  # last in, first out: the warmest first

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        async with self._slots:
            connection = await self._connection()
            try:
                answer = await asyncio.wait_for(connection.send(request), self.timeout)
            except BaseException:
                connection.close()
                raise
            if connection.reusable:
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
            return answer

    async def _connection(self) -> _Exchange:
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and time.monotonic() - connection.idle_since < KEPT_IDLE_SECONDS:
                return connection
            connection.close()
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(_Exchange, self.host, self.port), CONNECT_TIMEOUT_SECONDS
        )
        return connection

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle = []


class _Exchange(asyncio.Protocol):
    """One connection of ``KeptConnections``; answers parsed by httptools."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._body = bytearray()
        self._keep_alive = True
        self.idle_since = 0.0

    @property
    def reusable(self) -> bool:
        return self._transport is not None and self._keep_alive

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self._transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return self._answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"not an HTTP answer: {error}"))
            self.close()

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        answer, self._body = (self._parser.get_status_code(), bytes(self._body)), bytearray()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(ConnectionError(f"the connection closed: {exc or 'by the server'}"))

    def _fail(self, error: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
