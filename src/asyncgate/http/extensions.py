"""What asyncgate adds to Zuora's API. Each extension is marked in the OpenAPI document
(``x-asyncgate-extension``) and in the docs; ``ASYNCGATE_ZUORA_STRICT`` turns them all off, so
that a team's tests can prove their integration uses only what Zuora offers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

# ``openapi_extra`` of an extension's route.
EXTENSION: dict[str, Any] = {"x-asyncgate-extension": True}


def extensions_on(request: Request) -> bool:
    return not request.app.state.settings.zuora_strict
