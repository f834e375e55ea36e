"""Generating API keys, secrets and tokens, and the hashes the server keeps instead of them.

Secrets and tokens are 256 random bits, so a plain SHA-256 is enough: a slow password hash (bcrypt,
scrypt) protects guessable passwords, and nothing about a random 256-bit value is guessable. A fast
hash also lets a token be looked up by its hash with an index.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: Prefixes make a leaked value recognisable (and greppable) for what it is.
KEY_PREFIX = "as-key-"
SECRET_PREFIX = "as-secret-"
TOKEN_PREFIX = "as-token-"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_hex(12)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def matches(value: str, stored_digest: str) -> bool:
    """Whether `value` hashes to `stored_digest`, in constant time."""
    return hmac.compare_digest(digest(value), stored_digest)
