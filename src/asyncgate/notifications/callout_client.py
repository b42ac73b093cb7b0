"""One callout attempt: the HTTP request it sends and what its answer means.

An attempt checks the URL again (:func:`~asyncgate.notifications.urls.vet_callout_url`), then
sends to the addresses that check vetted and nowhere else (see ``connections``). It carries the
payload, a new ``Zuora-Request-Id``, the delivery's ``Zuora-Notification-Id`` and, once the
tenant has a signing secret, Standard Webhooks headers. Basic auth is preemptive (credentials in
the first request) or answers a challenge: a 401 with ``WWW-Authenticate`` is followed by one
request with credentials, and both count as one attempt. Redirects are never followed.

Success is a 2xx and, when the tenant confirms success by parsing answers, a JSON body with
``"success": true``. Anything else, a timeout, a network or TLS error, or a URL the guard now
refuses, is a failed attempt, classified by :class:`AttemptError`. At most 60 KB of an answer
is read and kept.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import TypedDict, Unpack

import httpx
import orjson

from asyncgate import __version__
from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.notifications.connections import callout_transport, connecting_to, tls_context
from asyncgate.notifications.signing import signature_headers
from asyncgate.notifications.urls import (
    CalloutUrlRefused,
    CalloutUrlRules,
    Resolver,
    vet_callout_url,
)

RESPONSE_CONTENT_LIMIT = 60 * 1024
USER_AGENT = f"asyncgate-callout/{__version__}"
RETRY_AFTER_STATUSES = frozenset({429, 503})


class AttemptError(StrEnum):
    """Why an attempt failed."""

    UNSAFE_URL = "unsafe_url"  # the guard refused the URL (or its host did not resolve)
    TIMEOUT = "timeout"
    CONNECT = "connect_error"
    TLS = "tls_error"
    NETWORK = "network_error"  # the connection broke, or the answer was not HTTP
    HTTP_STATUS = "http_status"  # not a 2xx (a 3xx too: redirects are not followed)
    UNCONFIRMED = "success_not_confirmed"  # a 2xx without "success": true, when required


@dataclass(frozen=True, slots=True)
class CalloutRequest:
    """What one attempt sends, credentials and signing secrets in clear."""

    notification_id: str
    method: str
    url: str
    params: Mapping[str, str]
    body: bytes
    credentials: tuple[str, str] | None = None  # basic auth: username, password
    preemptive: bool = False
    signing_secrets: tuple[str, ...] = ()
    confirm_success: bool = False


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    url: str  # as sent, with its query parameters
    started_at: datetime
    completed_at: datetime
    duration_ms: int
    response_code: int | None = None
    response_content: str | None = None
    error: AttemptError | None = None
    error_message: str | None = None
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class _Ending(TypedDict, total=False):
    """The fields of an ``AttemptOutcome`` that depend on how the attempt ended."""

    response_code: int
    response_content: str
    error: AttemptError
    error_message: str
    retry_after: timedelta | None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: httpx.Headers
    content: bytes


class CalloutClient:
    """Sends callout attempts over one pool of connections (kept per host)."""

    def __init__(
        self,
        rules: CalloutUrlRules,
        *,
        connect_timeout: timedelta,
        timeout: timedelta,
        ca_bundle: Path | None = None,
        max_connections: int = 10,
        resolve: Resolver | None = None,
    ) -> None:
        self.rules = rules
        self._resolve = resolve
        self._timeout = timeout.total_seconds()
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx.AsyncClient(
            transport=callout_transport(tls_context(ca_bundle), limits),
            timeout=httpx.Timeout(self._timeout, connect=connect_timeout.total_seconds()),
            follow_redirects=False,
            trust_env=False,
            # Answers are read up to a bound: a compressed one could inflate far past it.
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, max_connections: int, resolve: Resolver | None = None
    ) -> CalloutClient:
        return cls(
            CalloutUrlRules.from_settings(settings),
            connect_timeout=settings.callout_connect_timeout,
            timeout=settings.callout_timeout,
            ca_bundle=settings.callout_ca_bundle,
            max_connections=max_connections,
            resolve=resolve,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def attempt(self, request: CalloutRequest) -> AttemptOutcome:
        url = httpx.URL(request.url).copy_merge_params(dict(request.params))
        started, clock = utcnow(), time.monotonic()

        def outcome(**ending: Unpack[_Ending]) -> AttemptOutcome:
            return AttemptOutcome(
                url=str(url),
                started_at=started,
                completed_at=utcnow(),
                duration_ms=round((time.monotonic() - clock) * 1000),
                **ending,
            )

        try:
            vetted = await vet_callout_url(request.url, self.rules, self._resolve)
        except CalloutUrlRefused as refused:
            return outcome(error=AttemptError.UNSAFE_URL, error_message=str(refused))
        try:
            async with asyncio.timeout(self._timeout):
                with connecting_to(vetted):
                    answer = await self._exchange(request, url)
        except (TimeoutError, httpx.TimeoutException):
            return outcome(
                error=AttemptError.TIMEOUT,
                error_message=f"no complete answer within {self._timeout:g} s",
            )
        except httpx.TransportError as failed:
            return outcome(error=_transport_error(failed), error_message=_describe(failed))
        return outcome(**_judged(answer, request.confirm_success))

    async def _exchange(self, request: CalloutRequest, url: httpx.URL) -> _Answer:
        headers = _headers(request)
        answer = await self._send(request, url, headers, with_credentials=request.preemptive)
        challenged = answer.status == 401 and "www-authenticate" in answer.headers
        if challenged and request.credentials is not None and not request.preemptive:
            answer = await self._send(request, url, headers, with_credentials=True)
        return answer

    async def _send(
        self,
        request: CalloutRequest,
        url: httpx.URL,
        headers: dict[str, str],
        *,
        with_credentials: bool,
    ) -> _Answer:
        auth = (
            httpx.BasicAuth(*request.credentials)
            if with_credentials and request.credentials
            else None
        )
        async with self._http.stream(
            request.method, url, content=request.body or None, headers=headers, auth=auth
        ) as response:
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) >= RESPONSE_CONTENT_LIMIT:
                    break
        return _Answer(
            response.status_code, response.headers, bytes(content[:RESPONSE_CONTENT_LIMIT])
        )


def _headers(request: CalloutRequest) -> dict[str, str]:
    """The headers of an attempt: both requests of a challenge carry the same."""
    headers = {
        "Zuora-Request-Id": str(uuid.uuid4()),
        "Zuora-Notification-Id": request.notification_id,
    }
    if request.body:
        headers["Content-Type"] = "application/json"
    signed = signature_headers(
        request.signing_secrets, request.notification_id, int(time.time()), request.body
    )
    return headers | signed


def _judged(answer: _Answer, confirm_success: bool) -> _Ending:
    """The outcome fields of an answer."""
    judged: _Ending = {
        "response_code": answer.status,
        "response_content": answer.content.decode("utf-8", errors="replace"),
    }
    if 200 <= answer.status < 300:
        if confirm_success and not _confirms_success(answer.content):
            judged["error"] = AttemptError.UNCONFIRMED
            judged["error_message"] = 'the answer is not JSON with "success": true'
        return judged
    message = f"the receiver answered {answer.status}"
    if 300 <= answer.status < 400:
        message += " (redirects are not followed)"
    judged["error"] = AttemptError.HTTP_STATUS
    judged["error_message"] = message
    if answer.status in RETRY_AFTER_STATUSES:
        judged["retry_after"] = _retry_after(answer.headers.get("retry-after"))
    return judged


def _confirms_success(content: bytes) -> bool:
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and document.get("success") is True


def _retry_after(value: str | None) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment - utcnow(), timedelta(0))


def _transport_error(failed: httpx.TransportError) -> AttemptError:
    if isinstance(failed, httpx.ConnectError):
        return AttemptError.TLS if _caused_by_tls(failed) else AttemptError.CONNECT
    return AttemptError.NETWORK


def _caused_by_tls(error: BaseException | None) -> bool:
    """Whether an ``ssl.SSLError`` lies in ``error``'s chain (httpcore wraps it as the
    argument of its own error, which httpx wraps in turn)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLError):
            return True
        wrapped = next((arg for arg in error.args if isinstance(arg, BaseException)), None)
        error = error.__cause__ or wrapped
    return False


def _describe(failed: httpx.TransportError) -> str:
    return str(failed) or type(failed).__name__
