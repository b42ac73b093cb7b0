"""Merge fields: the ``<Request.Id>`` placeholders of a callout's ``calloutParams``.

Zuora sends a callout's parameters as query parameters, each value with its merge fields
replaced by the event's values. The fields of an async request event are its payload's,
named by their path with each key capitalised: ``<CreateTime>``, ``<CompleteTime>``,
``<State>``, ``<Request.Id>``, ``<Request.Method>``, ``<Request.Url>``, ``<Request.TrackId>``,
``<Data.Id>`` and ``<ProcessId>`` (matched without regard to case). A null value merges as
the empty string; a placeholder that names no field is sent as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)>")


def merge_fields(payload: Mapping[str, Any]) -> dict[str, str]:
    """The merge fields of an event's payload, keyed by lower-case name."""
    fields: dict[str, str] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}".lower()
            if isinstance(value, Mapping):
                walk(value, name + ".")
            elif not isinstance(value, list):
                fields[name] = "" if value is None else str(value)

    walk(payload, "")
    return fields


def merged_params(params: Mapping[str, str], payload: Mapping[str, Any]) -> dict[str, str]:
    """``params`` with the merge fields of every value replaced by ``payload``'s values."""
    if not any("<" in value for value in params.values()):
        return dict(params)  # nothing to merge: the payload need not be walked
    fields = merge_fields(payload)

    def replace(match: re.Match[str]) -> str:
        return fields.get(match.group(1).lower(), match.group(0))

    return {name: _PLACEHOLDER.sub(replace, value) for name, value in params.items()}
