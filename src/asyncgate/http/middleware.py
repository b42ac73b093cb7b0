"""The request envelope every endpoint shares, as one pure ASGI middleware.

It gives each request a ``Zuora-Request-Id`` and a process ID, answers ``HEAD`` wherever
``GET`` is served, validates and echoes
``Zuora-Track-Id``, bounds the body (inflating ``Content-Encoding: gzip`` without ever holding
more than the limit), and insists on JSON bodies for the API, each checked once for every
route and async twin alike (``json_body``). Anything refused here is answered
in Zuora's envelope before any handler runs, so it changes nothing. An exception no handler
turned into an answer becomes a 500 in Zuora's envelope here, inside the headers this
middleware adds, so even that answer carries its ``Zuora-Request-Id``.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncgate.db.base import new_id, uuid_text
from asyncgate.http.errors import (
    InternalError,
    InvalidTrackId,
    MalformedJson,
    PayloadTooLarge,
    Resource,
    UnsupportedMediaType,
    ZuoraError,
    error_response,
)
from asyncgate.http.json_body import check_charset, check_json, nul_refused

log = logging.getLogger("asyncgate")

TRACK_ID_MAX = 64
TRACK_ID_FORBIDDEN = frozenset(":;\"'")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_PATH_PREFIXES = ("/v1/", "/notifications/")
INFLATE_CHUNK = 64 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS


def track_id_is_valid(value: str) -> bool:
    return (
        0 < len(value) <= TRACK_ID_MAX
        and value.isascii()
        and value.isprintable()
        and not TRACK_ID_FORBIDDEN.intersection(value)
    )


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds {limit} bytes", resource=Resource.REQUEST)


def inflate_gzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body (one or more members), refusing once the output would pass ``limit``.

    Output is produced at most ``INFLATE_CHUNK`` bytes at a time, so a small body that inflates
    to gigabytes costs no more than ``limit`` bytes of memory before it is refused.
    """
    chunks: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            inflater = zlib.decompressobj(wbits=GZIP_WBITS)
            while not inflater.eof:
                chunk = inflater.decompress(data, INFLATE_CHUNK)
                data = inflater.unconsumed_tail
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
                if not chunk and not data:
                    raise zlib.error("truncated gzip stream")
            data = inflater.unused_data  # the next member, if any; garbage fails its header check
    except zlib.error as exc:
        raise MalformedJson(
            f"The request body is not valid gzip: {exc}", resource=Resource.REQUEST
        ) from None
    return b"".join(chunks)


class ZuoraConventionsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        error_statuses: str,
        errors_answered_outside: Callable[[str], bool] = lambda path: False,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.error_statuses = error_statuses
        # Paths whose refusals and unexpected errors a layer around this one answers (the
        # console's page).
        self.errors_answered_outside = errors_answered_outside

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        digits = new_id()
        request_id_text = uuid_text(digits)
        process_id = digits[-16:].upper()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id_text
        state["process_id"] = process_id
        # HEAD is answered as GET without its body; on a copy of the scope, so that the server
        # still knows it answers a HEAD.
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        # ASGI header names are lowercase; pick out the few this layer needs in one pass.
        track_id = encoding = length = content_type = None
        for name, value in scope["headers"]:
            if name == b"zuora-track-id":
                track_id = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-encoding":
                encoding = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        track_id_valid = track_id is None or track_id_is_valid(track_id)
        state["track_id"] = track_id if track_id_valid else None

        extra_headers = [(b"zuora-request-id", request_id_text.encode())]
        if track_id is not None and track_id_valid:
            extra_headers.append((b"zuora-track-id", track_id.encode()))
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            elif head:
                message = {**message, "body": b""}
            await send(message)

        try:
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                raise nul_refused("the URL")
            if not track_id_valid:
                raise InvalidTrackId(
                    "Zuora-Track-Id must be 1 to 64 US-ASCII characters without : ; \" '",
                    resource=Resource.REQUEST,
                )
            if scope["method"] in BODY_METHODS:
                body = await self._read_body(scope, receive, encoding, length, content_type)
                if body is None:  # the client went away mid-body: nobody to answer
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_with_headers)
        except ZuoraError as error:
            if response_started or self.errors_answered_outside(scope["path"]):
                raise
            await error_response(
                error, process_id, scope["method"], scope["path"], self.error_statuses
            )(scope, receive, send_with_headers)
        except Exception:
            if response_started or self.errors_answered_outside(scope["path"]):
                raise
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            internal = InternalError(
                f"An internal error occurred; quote processId {process_id}",
                resource=Resource.GENERAL,
            )
            await error_response(
                internal, process_id, scope["method"], scope["path"], self.error_statuses
            )(scope, receive, send_with_headers)

    async def _read_body(
        self,
        scope: Scope,
        receive: Receive,
        encoding: str | None,
        length: bytes | None,
        content_type: str | None,
    ) -> bytes | None:
        encoding = (encoding or "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise UnsupportedMediaType(
                f"Content-Encoding {encoding!r} is not supported; use gzip",
                resource=Resource.REQUEST,
            )
        limit = self.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if encoding == "gzip" and body:
            body = inflate_gzip(body, limit)
            _replace_header(scope, b"content-encoding", None)
            _replace_header(scope, b"content-length", str(len(body)).encode())
        if body and scope["path"].startswith(JSON_PATH_PREFIXES):
            if content_type is None or not is_json_media_type(content_type):
                raise UnsupportedMediaType(
                    f"Content-Type must be application/json, not {content_type or 'absent'!r}",
                    resource=Resource.REQUEST,
                )
            check_charset(content_type)
            check_json(body)
        elif b"%00" in body or b"\x00" in body:  # a form (a token, the console's pages)
            raise nul_refused("the request body")
        return body


def _replace_header(scope: Scope, name: bytes, value: bytes | None) -> None:
    headers = [(k, v) for k, v in scope["headers"] if k != name]
    if value is not None:
        headers.append((name, value))
    scope["headers"] = headers


def _replay(body: bytes, receive_more: Receive) -> Receive:
    """Hand the buffered body to the app, then pass later messages (disconnect) through."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive_more()

    return receive
