"""Opening the Zuora SDK against a live server, and the SDK's names for the tests.

Importing the SDK takes some 20 s of CPU (it builds about 1,800 pydantic models), and every
test process imports every test module. So tests name the SDK's classes through
``zuora_sdk``, ``models`` and ``exceptions`` from here, which import the SDK when a test first
uses one of its names: only the test process that runs the SDK's tests pays for it
(``tests/support/scheduling.py`` gives them all to one).
"""

from __future__ import annotations

import gc
import importlib
import json
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


class _ImportedOnUse:
    """A module, imported when one of its names is first looked up."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # what pytest's collection looks for on module attributes
            raise AttributeError(name)
        return getattr(_import_for_good(self._name), name)


def _import_for_good(name: str) -> Any:
    """``name``, imported without the garbage collector: the SDK's some 650,000 objects live
    as long as the process, and scanning them takes a fifth of the import's time, then 0.7 s
    at every full collection of the test process (so they are frozen out of its reach)."""
    if name in sys.modules:
        return sys.modules[name]
    gc.disable()
    try:
        module = importlib.import_module(name)
    finally:
        gc.enable()
    gc.freeze()
    return module


zuora_sdk: Any = _ImportedOnUse("zuora_sdk")
models: Any = _ImportedOnUse("zuora_sdk.models")
exceptions: Any = _ImportedOnUse("zuora_sdk.exceptions")

quiet_sdk = pytest.mark.filterwarnings("ignore::DeprecationWarning:zuora_sdk")
"""The SDK calls APIs pydantic deprecated, hundreds of times per run: not our concern."""


@contextmanager
def open_sdk(base_url: str, access_token: str | None = None) -> Iterator[zuora_sdk.ApiClient]:
    """An SDK client whose sockets are closed on exit.

    The SDK's ``ApiClient`` closes nothing itself, and keep-alive connections left open would
    hold up the server's graceful shutdown.
    """
    api_client = zuora_sdk.ApiClient(
        zuora_sdk.Configuration(host=base_url, access_token=access_token)
    )
    try:
        yield api_client
    finally:
        api_client.rest_client.pool_manager.clear()


def body_of(answer: zuora_sdk.ApiResponse) -> Any:
    """The raw JSON of a successful SDK answer (``*_with_http_info``), after the checks every
    answer shares: status 200 and a ``Zuora-Request-Id``."""
    assert answer.status_code == 200
    assert uuid.UUID(answer.zuora_request_id)
    return json.loads(answer.raw_data)


def assert_refused(answer: zuora_sdk.ApiResponse, category: int) -> Any:
    """A failed v1 REST call as Zuora answers it: HTTP 200, read by the SDK into the
    operation's own model with ``success`` false and one reason of ``category``. Returns that
    model."""
    body = body_of(answer)
    assert body["success"] is False
    refused = answer.data
    assert refused.success is False
    assert re.fullmatch(r"[0-9A-F]{16}", refused.process_id)
    [reason] = refused.reasons
    assert 50_000_000 <= reason.code <= 67_999_999
    assert reason.code % 100 == category
    assert reason.message
    return refused
