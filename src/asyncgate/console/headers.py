"""The headers every console answer carries, set in one place: pages, redirects, refusals,
the stylesheet, and the error page (unknown pages and methods, requests refused before any
page ran, unexpected errors)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncgate.console.rendering import error_page
from asyncgate.console.routing import PREFIX
from asyncgate.http.errors import InternalError, Resource, ZuoraError

log = logging.getLogger("asyncgate")

# Nothing but this site's own styles and images: no script at all (the console ships none),
# no framing, no forms sent elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show a tenant's data and forms their one-time tokens: nothing is kept.
    "Cache-Control": "no-store",
}
_NAMES = {name.lower().encode("latin-1") for name in SECURITY_HEADERS}
_ENCODED = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in SECURITY_HEADERS.items()
]


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _internal_error(request: Request) -> Response:
    process_id = getattr(request.state, "process_id", None)
    error = InternalError(
        f"An internal error occurred; quote processId {process_id}", resource=Resource.GENERAL
    )
    try:
        return error_page(request, error)
    except Exception:  # the page itself cannot be shown: its words still can
        log.exception("the console's error page failed in %s %s", request.method, request.url.path)
        return PlainTextResponse(str(error), status_code=error.status)


class ConsoleHeadersMiddleware:
    """Puts :data:`SECURITY_HEADERS` on every answer under ``/console``, in place of any of
    the same names, and answers there with the console's error page what the API's
    conventions refused and any unexpected error (a 500, logged as the API logs its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console(scope["path"]):
            await self.app(scope, receive, send)
            return
        response_started = False

        async def send_secured(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = message.get("headers", ())
                kept = [pair for pair in headers if pair[0].lower() not in _NAMES]
                message["headers"] = [*kept, *_ENCODED]
            await send(message)

        try:
            await self.app(scope, receive, send_secured)
        except ZuoraError as error:  # refused before any page ran: a NUL, a body too large
            if response_started:
                raise
            await error_page(Request(scope, receive), error)(scope, receive, send_secured)
        except Exception:
            if response_started:
                raise
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await _internal_error(Request(scope, receive))(scope, receive, send_secured)
