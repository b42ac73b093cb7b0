"""The request envelope every endpoint shares, as one pure ASGI middleware.

It gives each request a ``Zuora-Request-Id`` and a process ID, validates and echoes
``Zuora-Track-Id``, bounds the body (inflating ``Content-Encoding: gzip`` without ever holding
more than the limit), and insists on JSON bodies for the API. Anything refused here is answered
in Zuora's envelope before any handler runs, so it changes nothing.
"""

from __future__ import annotations

import uuid
import zlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncgate.http.errors import InvalidValue, MalformedJson, Resource, ZuoraError, error_response

TRACK_ID_MAX = 64
TRACK_ID_FORBIDDEN = frozenset(':;"\'')
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_PATH_PREFIXES = ("/v1/", "/notifications/")
INFLATE_CHUNK = 64 * 1024


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


class PayloadTooLarge(InvalidValue):
    status = 413


class UnsupportedMediaType(InvalidValue):
    status = 415


def inflate_gzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body, refusing as soon as the output would pass ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            chunk = inflater.decompress(data, INFLATE_CHUNK)
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"The inflated request body exceeds {limit} bytes", resource=Resource.REQUEST
                )
            parts.append(chunk)
            data = inflater.unconsumed_tail
        if not inflater.eof:
            raise zlib.error("truncated gzip stream")
    except zlib.error as exc:
        raise MalformedJson(
            f"The request body is not valid gzip: {exc}", resource=Resource.REQUEST
        ) from None
    return b"".join(parts)


class ZuoraConventionsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4()
        state = scope.setdefault("state", {})
        state["request_id"] = str(request_id)
        state["process_id"] = request_id.hex[-16:].upper()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        track_id = headers.get("zuora-track-id")
        state["track_id"] = track_id

        response_headers = [(b"zuora-request-id", str(request_id).encode())]
        if track_id is not None and track_id_is_valid(track_id):
            response_headers.append((b"zuora-track-id", track_id.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *response_headers]
            await send(message)

        try:
            if track_id is not None and not track_id_is_valid(track_id):
                raise InvalidValue(
                    "Zuora-Track-Id must be at most 64 US-ASCII characters without : ; \" '",
                    resource=Resource.REQUEST,
                )
            if scope["method"] in BODY_METHODS:
                body = await self._read_body(scope, headers, receive)
                receive = _replay(body, receive)
        except ZuoraError as error:
            response = error_response(error, state["process_id"], scope["path"])
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    async def _read_body(self, scope: Scope, headers: dict[str, str], receive: Receive) -> bytes:
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise UnsupportedMediaType(
                f"Content-Encoding {encoding!r} is not supported; use gzip",
                resource=Resource.REQUEST,
            )
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge(
                f"The request body exceeds {self.max_body_bytes} bytes", resource=Resource.REQUEST
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(
                    f"The request body exceeds {self.max_body_bytes} bytes",
                    resource=Resource.REQUEST,
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if encoding == "gzip" and body:
            body = inflate_gzip(body, self.max_body_bytes)
            _replace_header(scope, b"content-encoding", None)
            _replace_header(scope, b"content-length", str(len(body)).encode())
        if body and scope["path"].startswith(JSON_PATH_PREFIXES):
            content_type = headers.get("content-type", "")
            if not is_json_media_type(content_type):
                raise UnsupportedMediaType(
                    f"Content-Type must be application/json, not {content_type or 'absent'!r}",
                    resource=Resource.REQUEST,
                )
        return body


def _replace_header(scope: Scope, name: bytes, value: bytes | None) -> None:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != name]
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
