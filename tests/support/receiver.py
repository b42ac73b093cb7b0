"""A real HTTPS callout receiver whose behaviour tests script, in a thread of the test process.

    with Receiver("127.0.0.1", 0, certificate) as receiver:
        path = receiver.new_path()
        receiver.script(path, Reply(500), Reply(500))     # then 200 {"success": true}
        ... receiver.wait_for(path, 3)                    # the requests that arrived

It serves HTTP/1.1 with keep-alive over TLS (a trustme certificate), answers each path's
scripted replies in order and then the default one, can demand basic auth with a challenge,
and records every request with the moment it arrived.
"""

from __future__ import annotations

import base64
import collections
import http.server
import os
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

WAIT_SECONDS = 15.0  # a bound for a loaded machine; arrivals usually take milliseconds


def receiver_address(number: int) -> str:
    """A loopback address of this test process's own (xdist runs several on one machine).
    Numbers in use, each by one receiver at a time: 1 the run's callout receiver, 2 the
    receiver that is down at first, 3 the console's, 4 the slow receiver of the isolation
    test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return f"127.0.{int(worker) + 1}.{number}"


@contextmanager
def receiver_on_port_443(tls_ca: trustme.CA, number: int) -> Iterator[Receiver]:
    """A receiver at ``https://<receiver_address(number)>/``, for callout URLs that may name
    no port; the test is skipped where port 443 cannot be bound."""
    address = receiver_address(number)
    receiver = Receiver(address, 443, tls_ca.issue_cert(address))
    try:
        receiver.start()
    except PermissionError:
        pytest.skip("a callout receiver on port 443 needs root (or CAP_NET_BIND_SERVICE)")
    try:
        yield receiver
    finally:
        receiver.stop()


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"success": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0  # seconds to wait before answering


@dataclass(frozen=True)
class Arrival:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.time() when it arrived
    peer: tuple[str, int]  # the sender's address and port: one per connection

    def credentials(self) -> tuple[str, str] | None:
        scheme, _, encoded = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        username, _, password = base64.b64decode(encoded).decode().partition(":")
        return username, password


@dataclass
class _Route:
    replies: collections.deque[Reply] = field(default_factory=collections.deque)
    credentials: tuple[str, str] | None = None
    arrivals: list[Arrival] = field(default_factory=list)


CHALLENGE = Reply(401, b"", {"WWW-Authenticate": 'Basic realm="callouts"'})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the sixth of a burst of connections, which the
    # sender's kernel then retries a second later.
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (a timeout a test provoked) is no error of the receiver


class Receiver:
    def __init__(self, host: str, port: int, certificate: trustme.LeafCert) -> None:
        self.host = host
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        self._context = context
        self._requested_port = port
        self._routes: dict[str, _Route] = collections.defaultdict(_Route)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> Self:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The head and the body of an answer go out in two writes: with Nagle's algorithm
            # the body would wait for the client's delayed acknowledgement (40 ms), as no
            # real receiver makes it wait.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                receiver._answer(self)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: object) -> None:
                pass

        server = _Server((self.host, self._requested_port), Handler)
        server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._requested_port

    @property
    def base_url(self) -> str:
        return f"https://{self.host}" if self.port == 443 else f"https://{self.host}:{self.port}"

    # -- scripting ------------------------------------------------------------------------------

    def new_path(self) -> str:
        """A path of its own for one test."""
        return f"/callouts/{uuid.uuid4().hex}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, path: str, *replies: Reply) -> None:
        """``path`` answers ``replies`` in order, then 200 ``{"success": true}``."""
        with self._lock:
            self._routes[path].replies.extend(replies)

    def require_basic_auth(self, path: str, username: str, password: str) -> None:
        """``path`` answers a challenge (401, ``WWW-Authenticate``) without these credentials."""
        with self._lock:
            self._routes[path].credentials = (username, password)

    def arrivals(self, path: str) -> list[Arrival]:
        with self._lock:
            return list(self._routes[path].arrivals)

    def wait_for(self, path: str, count: int, timeout: float = WAIT_SECONDS) -> list[Arrival]:
        """The first ``count`` requests to ``path``, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._routes[path].arrivals) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = len(self._routes[path].arrivals)
                    raise AssertionError(f"{arrived} of {count} callouts reached {path}")
                self._changed.wait(remaining)
            return list(self._routes[path].arrivals)

    # -- serving --------------------------------------------------------------------------------

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        arrival = Arrival(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            at=time.time(),
            peer=handler.client_address[:2],
        )
        with self._changed:
            route = self._routes[split.path]
            route.arrivals.append(arrival)
            self._changed.notify_all()
            if route.credentials is not None and arrival.credentials() != route.credentials:
                reply = CHALLENGE
            else:
                reply = route.replies.popleft() if route.replies else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
