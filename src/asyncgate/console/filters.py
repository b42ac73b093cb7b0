"""The filters and pages of the console's lists, read from the query string.

A filter that does not parse is reported beside its field and left out, so the list still
shows (unfiltered by it) rather than an error page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request

from asyncgate.http.errors import InvalidValue
from asyncgate.http.validation import MAX_INT32
from asyncgate.notifications.history_routes import parse_time


@dataclass
class Filters:
    request: Request
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.request.query_params.get(name, "").strip()
        self.values[name] = value
        return value or None

    def choice(self, name: str, options: Sequence[str]) -> str | None:
        value = self.text(name)
        if value is not None and value not in options:
            self.errors[name] = f"Choose one of: {', '.join(options)}"
            return None
        return value

    def moment(self, name: str, label: str) -> datetime | None:
        """A time as ``<input type=datetime-local>`` sends it (or any ISO form), in UTC."""
        value = self.text(name)
        try:
            return parse_time(label, value)
        except InvalidValue as error:
            self.errors[name] = str(error)
            return None

    def flag(self, name: str, default: bool) -> bool:
        """A checkbox: sent as ``on`` when checked; a form sent without it means unchecked.
        ``filtered`` marks a form that was sent at all."""
        checked = self.request.query_params.get(name) == "on"
        sent = "filtered" in self.request.query_params
        value = checked if sent else default
        self.values[name] = "on" if value else ""
        return value


@dataclass(frozen=True)
class Paging:
    """``?page=N`` of ``size`` rows; one more row is fetched to tell whether there is a next
    page."""

    request: Request
    number: int
    size: int

    @classmethod
    def of(cls, request: Request, size: int) -> Paging:
        try:
            number = min(max(1, int(request.query_params.get("page", "1"))), MAX_INT32)
        except ValueError:
            number = 1
        return cls(request, number, size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size + 1

    def _url(self, number: int) -> str:
        url = self.request.url.include_query_params(page=number)
        return f"{url.path}?{url.query}"

    def links(self, fetched: int) -> PageLinks:
        return PageLinks(
            previous_url=self._url(self.number - 1) if self.number > 1 else None,
            next_url=self._url(self.number + 1) if fetched > self.size else None,
        )


@dataclass(frozen=True)
class PageLinks:
    previous_url: str | None
    next_url: str | None
