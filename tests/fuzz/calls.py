"""Requests to every route of the app's route table, with extreme values wherever the route
takes one: its path and query parameters and headers, and its body, whose fields come from the
route's body model. Writing routes under ``/v1`` are also called through their async twin.

Nothing here lists routes: they are read from the app, so a new route is walked as soon as it
exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import strategies as st

from asyncgate.asyncreq.resolver import ASYNC_METHODS, NEVER_ASYNC_PREFIXES
from tests.fuzz.examples import Example
from tests.fuzz.extremes import Known, Mix, mutated, of_type, url_values

CONSOLE_PREFIX = "/console"
JSON = "application/json"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: APIRoute = field(compare=False)

    @property
    def has_async_twin(self) -> bool:
        return (
            self.method in ASYNC_METHODS
            and self.path.startswith("/v1/")
            and not self.path.startswith(NEVER_ASYNC_PREFIXES)
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Call:
    """One request, as sent."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, bytes], ...]
    content: bytes | None = None

    def as_async(self) -> Call:
        return replace(self, path="/v1/async/" + self.path.removeprefix("/v1/"))

    def __str__(self) -> str:
        body = "" if self.content is None else f" {self.content[:300]!r}"
        return f"{self.method} {self.path[:300]} {dict(self.params)}{body}"


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every method of every route the app declares, but the console's pages (forms of their
    own, read by their own tests) and the documentation's."""
    return [
        Endpoint(method, context.path, context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and not context.path.startswith(CONSOLE_PREFIX)
        for method in sorted(context.methods or ())
    ]


def calls(endpoint: Endpoint, known: Known, examples: list[Example]) -> st.SearchStrategy[Call]:
    """Requests to ``endpoint``: every path parameter, any of its query parameters and
    headers, and a body when it takes one. One of them, the focus, is extreme (of a body, one
    or two of its fields); the others are ordinary, so that the extreme one reaches the code
    that reads it. Ordinary path parameters and bodies are those of ``examples`` the route
    served, where there are some."""
    parameters = [
        Parameter(
            type(parameter.field_info),
            parameter.name,
            parameter.alias,
            parameter.field_info.annotation,
        )
        for parameter in get_flat_params(endpoint.route.dependant)
        if type(parameter.field_info) in (params.Path, params.Query, params.Header)
    ]
    served = [
        (example, found)
        for example in examples
        if (found := example.path_parameters(endpoint.method, endpoint.path)) is not None
    ]
    values = {
        mix: [parameter.values(known, mix) for parameter in parameters]
        for mix in (Mix.ORDINARY, Mix.EXTREME)
    }
    paths = (
        st.sampled_from([found for _, found in served])
        if served
        else st.fixed_dictionaries(
            {
                parameter.name: values[Mix.ORDINARY][index]
                for index, parameter in enumerate(parameters)
                if parameter.kind is params.Path
            }
        )
    )
    bodies = _bodies(endpoint.route, known, [example.body for example, _ in served])
    # The focus: a parameter, by its index, or the body (past the parameters), half the time
    # when the route takes one.
    the_body = st.just(len(parameters))
    if not parameters:
        focuses = the_body
    elif endpoint.route.body_field is None:
        focuses = st.integers(0, len(parameters) - 1)
    else:
        focuses = the_body | st.integers(0, len(parameters) - 1)

    @st.composite
    def call(draw: st.DrawFn) -> Call:
        focus = draw(focuses)
        path = draw(paths)
        query, headers = [], []
        for index, parameter in enumerate(parameters):
            extreme = index == focus
            if not extreme and (parameter.kind is params.Path or not draw(st.booleans())):
                continue
            value = draw(values[Mix.EXTREME if extreme else Mix.ORDINARY][index])
            if parameter.kind is params.Path:
                path = {**path, parameter.name: value}
            elif parameter.kind is params.Query:
                query.append((parameter.alias, value))
            else:
                headers.append((parameter.alias, value))
        body_headers, content = draw(bodies[focus == len(parameters)])
        return Call(
            endpoint.method,
            _filled(endpoint.path, path),
            tuple(query),
            (*headers, *body_headers.items()),
            content,
        )

    return call()


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter, or a header, of a route."""

    kind: type
    name: str
    alias: str
    annotation: Any

    def values(self, known: Known, mix: Mix) -> st.SearchStrategy[Any]:
        """Its values as a request carries them: a header's in UTF-8, without the control
        characters no client can send in one."""
        written = url_values(self.annotation, known, mix)
        if self.kind is params.Header:
            return written.filter(lambda text: text.isprintable()).map(str.encode)
        return written


def _filled(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


Body = tuple[dict[str, bytes], bytes | None]
"""A body's headers and content."""


def _bodies(
    route: APIRoute, known: Known, examples: list[Any]
) -> dict[bool, st.SearchStrategy[Body]]:
    """The route's ordinary bodies (its examples, or bodies of its model) and, by ``True``,
    its extreme ones (examples with an extreme field or two, or bodies of its model with
    extreme fields), written in an extreme way now and then; none if it takes no body."""
    body = route.body_field
    if body is None:
        return dict.fromkeys((False, True), st.just(({}, None)))
    annotation = body.field_info.annotation
    ordinary = of_type(annotation, known, Mix.ORDINARY)
    extreme = of_type(annotation, known, Mix.MIXED)
    if examples:
        ordinary = st.sampled_from(examples)
        extreme = st.sampled_from([ordinary.flatmap(mutated)] * 2 + [extreme]).flatmap(
            lambda values: values
        )
    if isinstance(body.field_info, params.Form):
        return {False: ordinary.map(_form), True: extreme.map(_form)}
    return {
        False: ordinary.map(_utf8),
        True: st.builds(lambda write, value: write(value), writings, extreme),
    }


def _form(value: Any) -> Body:
    fields = value if isinstance(value, dict) else {"value": value}
    content = "&".join(f"{quote(str(k))}={quote(_form_value(v))}" for k, v in fields.items())
    return {"content-type": b"application/x-www-form-urlencoded"}, content.encode()


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _utf8(value: Any) -> Body:
    return {"content-type": JSON.encode()}, json.dumps(value, ensure_ascii=False).encode()


def _latin1(value: Any) -> Body:
    content = json.dumps(value, ensure_ascii=False).encode("latin-1", errors="replace")
    return {"content-type": f"{JSON}; charset=latin-1".encode()}, content


def _broken_utf8(value: Any) -> Body:
    return {"content-type": JSON.encode()}, json.dumps(value).encode() + b"\xff\xfe"


def _nested(value: Any) -> Body:
    return {"content-type": JSON.encode()}, ("[" * 1000 + json.dumps(value) + "]" * 1000).encode()


def _past_a_double(value: Any) -> Body:
    return {"content-type": JSON.encode()}, f"[{json.dumps(value)}, 1{'0' * 400}]".encode()


BROKEN: list[Callable[[Any], Body]] = [_latin1, _broken_utf8, _nested, _past_a_double]
writings = st.sampled_from([_utf8] * 3 * len(BROKEN) + BROKEN)
"""How an extreme body is written: as JSON in UTF-8 three times in four, or in another
charset, with bytes that are not UTF-8, nested 1000 deep, or with a number past a double."""
