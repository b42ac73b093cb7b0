"""Console routes: errors become pages, and a visitor without a session is sent to sign in.

Pages run in the API's unit of work (:class:`UnitOfWorkRoute`): one transaction per request,
committed before the answer leaves, rolled back when the handler raises. The sign-in route is
the exception (:class:`SignInRoute`): it checks the password (argon2, tens of milliseconds)
outside any transaction, so that on SQLite no write lock is held meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from asyncgate.console.rendering import error_page
from asyncgate.http.errors import ZuoraError
from asyncgate.http.routing import UnitOfWorkRoute

PREFIX = "/console"
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class SignInRequired(Exception):
    """No live session: the visitor signs in, then comes back to the page it asked for."""


class RolledBack(Exception):
    """Answer ``response`` once the request's transaction is rolled back: a refused form
    changes nothing, whatever the service wrote before it refused."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def local_target(target: str | None) -> str:
    """``target`` if it is a console page of this site, else the console's front page: a
    sign-in link can send no one elsewhere."""
    if not target or "//" in target or "\\" in target:
        return PREFIX
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return PREFIX
    if parts.path == PREFIX or parts.path.startswith(PREFIX + "/"):
        return target
    return PREFIX


def sign_in_url(request: Request) -> str:
    back = request.url.path if request.method == "GET" else PREFIX
    if request.method == "GET" and request.url.query:
        back += "?" + request.url.query
    return f"{PREFIX}/sign-in?" + urlencode({"next": back})


def _rendering_errors(handler: Handler) -> Handler:
    async def render_errors(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInRequired:
            return RedirectResponse(sign_in_url(request), status_code=303)
        except RolledBack as rolled_back:
            return rolled_back.response
        except ZuoraError as error:
            return error_page(request, error)

    return render_errors


class ConsoleRoute(UnitOfWorkRoute):
    def get_route_handler(self) -> Handler:
        return _rendering_errors(super().get_route_handler())


class SignInRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _rendering_errors(super().get_route_handler())
