"""Examples of what routes take: the requests a client made that succeeded, recorded as it
made them, and matched to the routes that served them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.routing import compile_path

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Example:
    """A request that succeeded: its method, path, query and body (JSON, or a form's fields)."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    body: Any

    def path_parameters(self, method: str, template: str) -> dict[str, str] | None:
        """Its path parameters if the route of ``method`` and path ``template`` served it,
        else None."""
        match = compile_path(template)[0].match(self.path)
        return None if match is None or method != self.method else match.groupdict()


@dataclass
class Recorder:
    """An httpx response hook that keeps every successful request as an example."""

    examples: list[Example] = field(default_factory=list)

    async def __call__(self, response: httpx.Response) -> None:
        if not response.is_success:
            return
        request = response.request
        self.examples.append(
            Example(
                request.method,
                request.url.path,
                tuple(request.url.params.multi_items()),
                _body(request),
            )
        )


def _body(request: httpx.Request) -> Any:
    if not request.content:
        return None
    if request.headers.get("content-type", "").startswith(FORM):
        return dict(parse_qsl(request.content.decode()))
    return json.loads(request.content)
