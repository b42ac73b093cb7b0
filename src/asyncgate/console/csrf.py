"""Cross-site request forgery protection: the synchronizer-token pattern.

Every form carries its session's token in the hidden field ``csrf_token``, and every POST must
bring it back (compared in constant time) before anything else happens; a POST without it is a
403 that changes nothing. The sign-in form has no session yet: its token is paired with a
cookie of the same value instead (double submit), so no other site can sign a browser in to an
account of its choosing. ``SameSite=Lax`` already keeps other sites' POSTs from carrying the
session cookie; the token also stops what that cannot (a sibling subdomain, an older browser).
A POST whose ``Origin`` names another site is refused before its form is read.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request

from asyncgate.http.errors import PermissionDenied, Resource

FIELD = "csrf_token"
SIGN_IN_COOKIE = "asyncgate-console-sign-in"
TOKEN_BYTES = 32


class CsrfRefused(PermissionDenied):
    def __init__(self, message: str) -> None:
        super().__init__(message, resource=Resource.AUTH)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_origin(request: Request) -> None:
    """Browsers name the site a POST comes from in ``Origin``; its host must be the one the
    request was sent to. The scheme is not compared: behind a proxy that ends TLS the request
    arrives over plain HTTP."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.headers.get("host"):
        raise CsrfRefused("This form was sent from another site and has been refused")


async def check_form(request: Request, expected: str | None) -> None:
    """Refuses a POST whose form does not carry ``expected`` (the session's token, or the
    sign-in cookie's)."""
    check_origin(request)
    given = (await request.form()).get(FIELD)
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise CsrfRefused(
            "This form has expired or did not come from this console: reload the page and try again"
        )
