"""Members' passwords: hashed with argon2id (argon2-cffi), never stored or logged as typed.

Unlike API keys and tokens (256 random bits, app/server/credentials.py), a password is chosen by a
person and may be guessable, so it gets a slow, salted, memory-hard hash.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 200

_hasher = PasswordHasher()
#: Compared against for an unknown e-mail, so timing does not tell which e-mails have accounts.
_DUMMY = _hasher.hash("not a password of anyone")


def check_strength(password: str) -> str | None:
    """Why the password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password: str, stored: str | None) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
