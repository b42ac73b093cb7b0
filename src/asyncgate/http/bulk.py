"""Bulk handlers: routes that can answer many stored requests at a time.

Replaying one stored request through its route (``asyncreq.executor``) costs the whole ASGI
stack, dependency resolution and a flush of its own: milliseconds each. A route that creates
many similar things (accounts, say) can also register a *bulk handler* that does the work of
many requests in one go, for a fraction of the cost each; the async worker uses it for the
requests it can. A bulk handler is an optimisation, never a second set of rules: it must answer
exactly as the route would (same status, same body; tests compare the two), and it declines
(``None``) every request it cannot answer that way, such as an invalid body, which is then
replayed one by one through the route itself. So is the whole group when the handler raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.http.answer import Answer

# (session, tenant ID, request bodies) -> one answer per body, or None where it declines.
BulkHandler = Callable[[AsyncSession, str, list[bytes]], Awaitable[list[Answer | None]]]

# Headers a bulk handler may ignore: any other header (Zuora-Entity-Ids, ...) needs the route's
# own checks, so a request carrying one is replayed one by one.
NEUTRAL_HEADERS = frozenset({"content-type", "zuora-track-id", "zuora-version"})

_handlers: dict[tuple[str, str], BulkHandler] = {}


def bulk_handler(method: str, path: str) -> Callable[[BulkHandler], BulkHandler]:
    """Registers the decorated function as the bulk handler of ``method path`` (a full path
    such as ``/v1/accounts``, without parameters)."""

    def register(handler: BulkHandler) -> BulkHandler:
        _handlers[(method, path)] = handler
        return handler

    return register


def handler_for(
    method: str, path: str, query_string: str, header_names: Collection[str]
) -> BulkHandler | None:
    """The bulk handler that may answer a request to ``method path`` with this query string
    and these (lower-case) headers, or None."""
    if query_string or not NEUTRAL_HEADERS.issuperset(header_names):
        return None
    return _handlers.get((method, path))
