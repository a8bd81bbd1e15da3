"""Password and PIN hashing (argon2id), API tokens and the keyed hash of national ID numbers."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Interactive logins: the library defaults (RFC 9106 low-memory profile) are fine for a counter.
_hasher = PasswordHasher()
# Demo data and tests create hundreds of readers; a cheaper profile keeps that fast while the
# hash format (and verification) stays the same.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def hash_secret(secret: str, *, fast: bool = False) -> str:
    return (_fast_hasher if fast else _hasher).hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str]:
    """A new token and the SHA-256 hex digest that is stored in its place."""
    token = "lib_" + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def national_id_digest(secret_key: str, national_id: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised national ID number, for look-up only."""
    normalised = national_id.strip().upper()
    return hmac.new(secret_key.encode(), normalised.encode(), hashlib.sha256).hexdigest()
