"""Standard Webhooks signatures (https://www.standardwebhooks.com) of callouts.

A tenant's secret is ``whsec_`` and the base64 of its key. The signature is the HMAC-SHA256 of
``{webhook-id}.{webhook-timestamp}.{body}`` under that key, sent as ``v1,<base64>``; while a
rotated-out secret is within its grace period, its signature follows, separated by a space,
so a receiver still holding the old secret accepts the callout too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from asyncgate.notifications.callout_settings import SIGNING_SECRET_PREFIX

VERSION = "v1"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SIGNING_SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The ``webhook-*`` headers of a callout signed with every one of ``secrets`` (none
    without secrets)."""
    if not secrets:
        return {}
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets
        ),
    }
