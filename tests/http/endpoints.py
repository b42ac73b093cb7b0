"""The API's endpoints as a client sees them, whatever the router nesting."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import BaseRoute, iter_route_contexts

PATH_PARAMETER = re.compile(r"\{[^}]+\}")
API_PREFIXES = ("/v1/", "/notifications/")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: BaseRoute

    @property
    def example_path(self) -> str:
        """The path with every parameter filled with a plausible ID."""
        return PATH_PARAMETER.sub("0123456789abcdef0123456789abcdef", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_endpoints(app: FastAPI) -> list[Endpoint]:
    return [
        Endpoint(method, context.path, context.original_route)
        for context in iter_route_contexts(app.routes)
        if context.path and context.path.startswith(API_PREFIXES)
        for method in sorted(context.methods or ())
    ]
