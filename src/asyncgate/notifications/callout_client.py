"""One callout attempt: the HTTP request it sends and what its answer means.

An attempt checks the URL again (:func:`~asyncgate.notifications.urls.vet_callout_url`), then
sends to the addresses that check vetted and nowhere else (see ``connections``). It carries the
payload, a new ``Zuora-Request-Id`` (32 hex characters) on every request sent, the delivery's
``Zuora-Notification-Id`` and, once the tenant has a signing secret, Standard Webhooks headers.
Basic auth is preemptive (credentials in the first request) or answers a challenge: a 401 with
``WWW-Authenticate`` is followed by one request with credentials, and both count as one
attempt. Redirects are never followed.

Success is a 2xx and, when the tenant confirms success by parsing answers, ``"success": true``
in a 200 with a JSON body (other 2xx answers, and a 200 of another type, are not parsed).
Anything else, a timeout, a network or TLS error, or a URL the guard now refuses, is a failed
attempt, classified by :class:`AttemptError`. At most 60 KB of an answer is read and kept.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import TypedDict, Unpack

import orjson
from yarl import URL

from asyncgate import __version__
from asyncgate.config import Settings
from asyncgate.db.base import new_id, utcnow
from asyncgate.notifications.connections import (
    Answer,
    CalloutConnections,
    ExchangeFailed,
    Failure,
    tls_context,
)
from asyncgate.notifications.signing import signature_headers
from asyncgate.notifications.urls import (
    CalloutUrlRefused,
    CalloutUrlRules,
    Resolver,
    VettedUrl,
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
    UNCONFIRMED = "success_not_confirmed"  # a JSON 200 without "success": true, when required


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


class CalloutClient:
    """Sends callout attempts over one pool of kept-alive connections (``connections``)."""

    def __init__(
        self,
        rules: CalloutUrlRules,
        *,
        connect_timeout: timedelta,
        timeout: timedelta,
        ca_bundle: Path | None = None,
        max_connections: int = 10,
        max_per_origin: int = 10,
        resolve: Resolver | None = None,
    ) -> None:
        self.rules = rules
        self._resolve = resolve
        self._timeout = timeout.total_seconds()
        self._connections = CalloutConnections(
            tls_context(ca_bundle),
            max_connections=max_connections,
            max_per_origin=min(max_per_origin, max_connections),
            connect_timeout=connect_timeout.total_seconds(),
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
            max_per_origin=settings.callout_concurrency_per_origin,
            resolve=resolve,
        )

    async def aclose(self) -> None:
        await self._connections.close()

    async def attempt(self, request: CalloutRequest) -> AttemptOutcome:
        started, clock = utcnow(), time.monotonic()
        sent_to = request.url

        def outcome(**ending: Unpack[_Ending]) -> AttemptOutcome:
            return AttemptOutcome(
                url=sent_to,
                started_at=started,
                completed_at=utcnow(),
                duration_ms=round((time.monotonic() - clock) * 1000),
                **ending,
            )

        try:
            vetted = await vet_callout_url(request.url, self.rules, self._resolve)
        except CalloutUrlRefused as refused:
            return outcome(error=AttemptError.UNSAFE_URL, error_message=str(refused))
        url = vetted.url.update_query(dict(request.params)) if request.params else vetted.url
        sent_to = str(url)
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._exchange(request, vetted, url)
        except TimeoutError:
            return outcome(
                error=AttemptError.TIMEOUT,
                error_message=f"no complete answer within {self._timeout:g} s",
            )
        except ExchangeFailed as failed:
            return outcome(error=_FAILURES[failed.failure], error_message=str(failed))
        return outcome(**_judged(answer, request.confirm_success))

    async def _exchange(self, request: CalloutRequest, vetted: VettedUrl, url: URL) -> Answer:
        headers = _headers(request)
        answer = await self._send(request, vetted, url, headers, request.preemptive)
        challenged = answer.status == 401 and "www-authenticate" in answer.headers
        if challenged and request.credentials is not None and not request.preemptive:
            answer = await self._send(request, vetted, url, headers, True)
        return answer

    async def _send(
        self,
        request: CalloutRequest,
        vetted: VettedUrl,
        url: URL,
        headers: dict[str, str],
        with_credentials: bool,
    ) -> Answer:
        # A new ID on every request sent, the resend after a challenge included, as Zuora's.
        headers = headers | {"Zuora-Request-Id": new_id()}
        if with_credentials and request.credentials:
            headers["Authorization"] = _basic_auth(*request.credentials)
        return await self._connections.exchange(
            vetted, request.method, url.raw_path_qs, headers, request.body, RESPONSE_CONTENT_LIMIT
        )


_FAILURES = {
    Failure.CONNECT: AttemptError.CONNECT,
    Failure.TLS: AttemptError.TLS,
    Failure.NETWORK: AttemptError.NETWORK,
}


def _basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _headers(request: CalloutRequest) -> dict[str, str]:
    """The headers of an attempt that both requests of a challenge carry."""
    headers = {
        "User-Agent": USER_AGENT,
        # Answers are read up to a bound: a compressed one could inflate far past it.
        "Accept-Encoding": "identity",
        "Zuora-Notification-Id": request.notification_id,
    }
    if request.body:
        headers["Content-Type"] = "application/json"
    signed = signature_headers(
        request.signing_secrets, request.notification_id, int(time.time()), request.body
    )
    return headers | signed


def _judged(answer: Answer, confirm_success: bool) -> _Ending:
    """The outcome fields of an answer."""
    judged: _Ending = {
        "response_code": answer.status,
        "response_content": answer.content.decode("utf-8", errors="replace"),
    }
    if 200 <= answer.status < 300:
        if confirm_success and _is_json_200(answer) and not _confirms_success(answer.content):
            judged["error"] = AttemptError.UNCONFIRMED
            judged["error_message"] = 'the JSON answer does not say "success": true'
        return judged
    message = f"the receiver answered {answer.status}"
    if 300 <= answer.status < 400:
        message += " (redirects are not followed)"
    judged["error"] = AttemptError.HTTP_STATUS
    judged["error_message"] = message
    if answer.status in RETRY_AFTER_STATUSES:
        judged["retry_after"] = _retry_after(answer.headers.get("retry-after"))
    return judged


def _is_json_200(answer: Answer) -> bool:
    """Whether parsing the answer can confirm success: Zuora parses a 200 with a JSON body
    only; other 2xx answers, and a 200 of another type, succeed as they are."""
    if answer.status != 200:
        return False
    media_type = answer.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


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
