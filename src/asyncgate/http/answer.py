"""A route's answer as the application gave it, read with Zuora's conventions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import orjson

from asyncgate.http.errors import CRUD_CODES

# The category a CRUD envelope's symbolic code stands for (the first, where several share one).
SYMBOLIC_CATEGORIES = {code: int(category) for category, code in reversed(CRUD_CODES.items())}


@dataclass(frozen=True)
class Answer:
    """Status and body of an answer, the resource it created or changed (see
    ``routing.declare_resource``), and how long it asked the caller to wait."""

    status: int
    body: bytes
    resource_id: str | None
    retry_after: timedelta | None = None

    def json(self) -> object:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def reports_failure(self) -> bool:
        """Whether the body says the call failed, ``"success": false`` (or ``"Success"`` in the
        CRUD envelope): Zuora answers most failed calls with 200 and such a body."""
        if b"false" not in self.body:  # most answers, read without parsing
            return False
        document = self.json()
        return isinstance(document, dict) and (
            document.get("success") is False or document.get("Success") is False
        )

    def reasons(self) -> list[dict[str, object]]:
        """The answer's error reasons as ``{"code", "message"}``, from either envelope."""
        document = self.json()
        if not isinstance(document, dict):
            return []
        if isinstance(document.get("reasons"), list):
            return [r for r in document["reasons"] if isinstance(r, dict)]
        if isinstance(document.get("Errors"), list):
            return [
                {"code": e.get("Code"), "message": e.get("Message")}
                for e in document["Errors"]
                if isinstance(e, dict)
            ]
        return []

    def reason_categories(self) -> list[int]:
        """The category of each reason: the last two digits of a REST code, or what a CRUD
        symbolic code (``LOCK_COMPETITION``) stands for."""
        categories = []
        for reason in self.reasons():
            code = reason.get("code")
            if isinstance(code, int):
                categories.append(code % 100)
            elif isinstance(code, str) and code in SYMBOLIC_CATEGORIES:
                categories.append(SYMBOLIC_CATEGORIES[code])
        return categories
