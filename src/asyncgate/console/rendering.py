"""Pages: Jinja2 templates (autoescaped). The headers every console answer carries are
:mod:`asyncgate.console.headers`'s."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from asyncgate.http.errors import ZuoraError

# What a page says after a change sent it there (``?notice=created``): fixed texts only, so a
# link cannot make the console say anything else.
NOTICES = {
    "created": "The notification was created.",
    "saved": "The notification was saved.",
    "activated": "The notification was activated.",
    "deactivated": "The notification was deactivated.",
    "deleted": "The notification was deleted.",
    "settings-saved": "The callout settings were saved.",
    "cancelled": "The request was cancelled.",
    "client-revoked": (
        "The client was revoked: it gets no new tokens, and its tokens stopped working."
    ),
    "user-created": "The user was created.",
    "role-changed": "The role was changed.",
    "user-disabled": "The user was disabled: their sessions have ended.",
    "user-enabled": "The user was enabled.",
}


def _common(request: Request) -> dict[str, Any]:
    return {
        "signed_in": getattr(request.state, "signed_in", None),
        "notice": NOTICES.get(request.query_params.get("notice", "")),
    }


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[_common]
)
templates.env.filters["when"] = when


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request, name, context or {}, status_code=status, headers=headers
    )


def error_page(request: Request, error: ZuoraError) -> Response:
    return page(request, "error.html", {"error": error}, status=error.status, headers=error.headers)
