"""Runs a stored request through the application's own synchronous route, in-process.

The request is replayed as an ASGI call that carries the worker's database session and the
caller's principal in its scope: the route runs its handler in a savepoint of the worker's
transaction (see ``http.routing``), so the handler's effects and the request's outcome commit
together or not at all. Nothing crosses a socket and no token is needed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Scope

from asyncgate.asyncreq.models import ClaimedRequest
from asyncgate.auth.principal import Principal
from asyncgate.auth.roles import Role
from asyncgate.http.answer import Answer
from asyncgate.http.routing import SCOPE_PRINCIPAL, SCOPE_RESOURCE_ID, SCOPE_SESSION


async def execute(app: ASGIApp, session: AsyncSession, request: ClaimedRequest) -> Answer:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in request.headers.items()
    ]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": request.query_string.encode(),
        "headers": headers,
        "client": None,
        "server": None,
        SCOPE_SESSION: session,
        SCOPE_PRINCIPAL: Principal(
            tenant_id=request.tenant_id, role=Role(request.role), client_id=request.client_id
        ),
    }
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        return {"type": "http.disconnect"}

    status = 500
    retry_after: timedelta | None = None
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status, retry_after
        if message["type"] == "http.response.start":
            status = message["status"]
            retry_after = _retry_after(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(
        status=status,
        body=b"".join(chunks),
        resource_id=scope.get(SCOPE_RESOURCE_ID),
        retry_after=retry_after,
    )


def _retry_after(headers: list[tuple[bytes, bytes]]) -> timedelta | None:
    for name, value in headers:
        if name.lower() == b"retry-after" and value.strip().isdigit():
            return timedelta(seconds=int(value))
    return None
