"""Hashing of what callers prove themselves with.

Passwords and client secrets (chosen by people, possibly weak) are hashed with argon2.
Bearer tokens are 128 random bits, so a plain SHA-256 is enough and keeps lookups cheap.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_SECRET_ALPHABET = string.ascii_letters + string.digits

CLIENT_SECRET_LENGTH = 40  # the SDK refuses secrets longer than 42 characters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_client_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(CLIENT_SECRET_LENGTH))


def generate_token() -> str:
    return secrets.token_hex(16)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
