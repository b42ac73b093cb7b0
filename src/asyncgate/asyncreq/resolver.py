"""Finds the synchronous route an async request targets, in the app's own route table.

Nothing is hand-listed: any POST, PUT or DELETE route under ``/v1`` has an async twin, except
Actions (which Zuora never runs asynchronously) and the async machinery itself.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp

from asyncgate.http.errors import InvalidValue, NotFound, Resource, UnsupportedMethod

ASYNC_METHODS = ("POST", "PUT", "DELETE")
NEVER_ASYNC_PREFIXES = ("/v1/action/", "/v1/async/", "/v1/async-requests", "/v1/async-jobs")


def target_path(async_path: str) -> str:
    """``/v1/async/accounts`` -> ``/v1/accounts``."""
    return "/v1/" + async_path.removeprefix("/v1/async/")


def resolve(app: ASGIApp, method: str, path: str) -> None:
    """Raise the Zuora error a caller should get when ``method path`` has no async twin."""
    if path.startswith(NEVER_ASYNC_PREFIXES) or path == "/v1/async":
        raise InvalidValue(
            f"{method} {path} cannot be made asynchronously", resource=Resource.ASYNC_REQUEST
        )
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    other_methods = False
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return
        other_methods = other_methods or match == Match.PARTIAL
    if other_methods:
        raise UnsupportedMethod(
            f"{method} {path} is not supported", resource=Resource.ASYNC_REQUEST
        )
    raise NotFound(f"No resource matches {method} {path}", resource=Resource.ASYNC_REQUEST)
