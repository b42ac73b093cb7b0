"""SDK requests the conformance tests send."""

from __future__ import annotations

from tests.e2e.sdk import models


def an_account(**overrides: object) -> models.CreateAccountRequest:
    """A valid account creation, with ``overrides`` by their JSON names."""
    fields = {
        "name": "Conformance",
        "currency": "USD",
        "billCycleDay": 1,
        "billToContact": {"firstName": "Ada", "lastName": "Lovelace"},
    }
    return models.CreateAccountRequest.from_dict(fields | overrides)
