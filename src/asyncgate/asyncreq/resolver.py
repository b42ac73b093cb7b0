"""Finds the synchronous route an async request targets, in the app's own route table.

Nothing is hand-listed: any POST, PUT or DELETE route under ``/v1`` has an async twin, except
Actions (which Zuora never runs asynchronously) and the async machinery itself.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, compile_path

from asyncgate.http.errors import Resource, UnknownPath, UnsupportedMethod

ASYNC_METHODS = ("POST", "PUT", "DELETE")
NEVER_ASYNC_PREFIXES = ("/v1/action/", "/v1/async/", "/v1/async-requests", "/v1/async-jobs")


def target_path(async_path: str) -> str:
    """``/v1/async/accounts`` -> ``/v1/accounts``."""
    return "/v1/" + async_path.removeprefix("/v1/async/")


class RouteTable:
    """The app's routes as one flat list of (pattern, methods), compiled once.

    Matching through FastAPI's nested routers re-walks every included router per request;
    accepts are the hottest path, so they match against this list instead. It is rebuilt when
    routers are added to the app.
    """

    def __init__(self) -> None:
        self._routes: list[BaseRoute] | None = None
        self._table: list[tuple[re.Pattern[str], str, frozenset[str]]] = []

    def entries(self, app: FastAPI) -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
        """Per route: its compiled pattern, its path template and its methods."""
        routes = app.router.routes
        if routes != self._routes:
            self._table = [
                (compile_path(context.path)[0], context.path, frozenset(context.methods or ()))
                for context in iter_route_contexts(routes)
                if context.path
            ]
            self._routes = list(routes)
        return self._table

    def methods_at(self, app: FastAPI, path: str) -> list[str]:
        """Every method a route serves at ``path``, HEAD wherever GET (``HEAD`` is answered as
        ``GET``): a 405's ``Allow``. Starlette's own names the methods of the first route
        that matched alone, while a resource's methods are often routes of their own."""
        methods = {
            method
            for pattern, _, route_methods in self.entries(app)
            if pattern.match(path)
            for method in route_methods
        }
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)


def resolve(app: FastAPI, table: RouteTable, method: str, path: str) -> str:
    """The path template of the route ``method path`` targets (``/v1/orders/{order_number}``);
    raises the Zuora error a caller should get when it has no async twin."""
    if path.startswith(NEVER_ASYNC_PREFIXES) or path == "/v1/async":
        raise UnknownPath(
            f"{method} {path} cannot be made asynchronously", resource=Resource.ASYNC_REQUEST
        )
    other_methods = False
    for pattern, template, methods in table.entries(app):
        if pattern.match(path):
            if method in methods:
                return template
            other_methods = True
    if other_methods:
        raise UnsupportedMethod(
            f"{method} {path} is not supported", resource=Resource.ASYNC_REQUEST
        )
    raise UnknownPath(f"No resource matches {method} {path}", resource=Resource.ASYNC_REQUEST)
