"""Cross-site request forgery protection: the synchronizer-token pattern.

Every form carries its session's token in the hidden field ``csrf_token``, and every POST must
bring it back (compared in constant time) before anything else happens; a POST without it is a
403 that changes nothing. The sign-in form has no session yet: its cookie holds a random nonce
and its token is the nonce's HMAC under a key derived from the server's secret key
(:class:`SignInTokens`), so no other site can sign a browser in to an account of its choosing,
not even one that can set the browser's cookies (a sibling subdomain): without the key it
cannot make a token for a nonce, and a cookie and a token of its choosing do not match.
``SameSite=Lax`` already keeps other sites' POSTs from carrying the session cookie; the token
also stops what that cannot (a sibling subdomain, an older browser). A POST whose ``Origin``
names another site is refused before its form is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from asyncgate.http.errors import PermissionDenied, Resource

FIELD = "csrf_token"
SIGN_IN_COOKIE = "asyncgate-console-sign-in"
TOKEN_BYTES = 32
# Derives the sign-in key from the server's secret key, so that it is no other use's key.
SIGN_IN_KEY_PURPOSE = b"asyncgate console sign-in form"


class CsrfRefused(PermissionDenied):
    def __init__(self, message: str) -> None:
        super().__init__(message, resource=Resource.AUTH)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True, slots=True)
class SignInTokens:
    """The sign-in form's pairs: the cookie a random nonce, the form's token its HMAC-SHA256.

    Every process of one installation shares the server's secret key
    (``ASYNCGATE_SECRET_KEY``), so a form one process served is accepted by another."""

    key: bytes

    @classmethod
    def from_secret_key(cls, secret_key: str) -> SignInTokens:
        return cls(hmac.new(secret_key.encode(), SIGN_IN_KEY_PURPOSE, hashlib.sha256).digest())

    def issue(self) -> tuple[str, str]:
        """A fresh pair: the cookie's nonce and the form's token."""
        nonce = new_token()
        return nonce, self.token_for(nonce)

    def token_for(self, nonce: str) -> str:
        mac = hmac.new(self.key, nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


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
    """Refuses a POST whose form does not carry ``expected`` (the session's token, or the one
    the sign-in cookie's nonce makes)."""
    check_origin(request)
    given = (await request.form()).get(FIELD)
    if (
        not expected
        or not isinstance(given, str)
        # Bytes: a field may hold any character, and strings compare in ASCII only.
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise CsrfRefused(
            "This form has expired or did not come from this console: reload the page and try again"
        )
