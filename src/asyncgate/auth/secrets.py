"""Hashing of what callers prove themselves with.

Passwords and client secrets (chosen by people, possibly weak) are hashed with argon2id, with
OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): about 50 ms per hash, where
argon2-cffi's default profile (64 MiB, 3 passes, 4 lanes) takes several times longer and would
cap token issuance far below Zuora's authentication quota. Hashing runs in a worker thread
(argon2 releases the GIL), so the event loop keeps serving other requests meanwhile.
Bearer tokens are 128 random bits, so a plain SHA-256 is enough and keeps lookups cheap.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_SECRET_ALPHABET = string.ascii_letters + string.digits

CLIENT_SECRET_LENGTH = 40  # the SDK refuses secrets longer than 42 characters


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches. With no hash (an unknown client) it takes as long as a
    real check and answers False, so response times do not reveal which client IDs exist."""
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        matches = _hasher.verify(password_hash or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


@cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def generate_client_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(CLIENT_SECRET_LENGTH))


def generate_token() -> str:
    return secrets.token_hex(16)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
