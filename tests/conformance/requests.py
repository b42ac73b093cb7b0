"""SDK requests the conformance tests send."""

from __future__ import annotations

from zuora_sdk.models import CreateAccountRequest


def an_account(**overrides: object) -> CreateAccountRequest:
    """A valid account creation, with ``overrides`` by their JSON names."""
    fields = {
        "name": "Conformance",
        "currency": "USD",
        "billCycleDay": 1,
        "billToContact": {"firstName": "Ada", "lastName": "Lovelace"},
    }
    return CreateAccountRequest.from_dict(fields | overrides)
