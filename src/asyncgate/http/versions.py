"""Zuora's API version control: ``Zuora-Version`` picks the shape of some answers.

A minor version is a number (``211.0``); the dated versions the SDK sends (``2025-08-12``) are
newer than every numbered one. Without the header, or with a value that is neither, an answer
takes its oldest shape.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Header

ZuoraVersion = Annotated[str | None, Header(alias="Zuora-Version")]


def version_at_least(version: str | None, minimum: float) -> bool:
    """Whether ``Zuora-Version`` is ``minimum`` or later."""
    if version is None:
        return False
    try:
        return float(version) >= minimum
    except ValueError:
        pass
    try:
        date.fromisoformat(version)
    except ValueError:
        return False
    return True
