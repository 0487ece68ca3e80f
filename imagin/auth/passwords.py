"""Password hashing with Argon2id at the parameters set in the configuration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verified against when the account does not exist, so both cases take as long.
_DUMMY_HASH: dict[tuple[int, int, int], str] = {}


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an account without one still costs a full verification."""
    hasher = _hasher()
    if password_hash is None:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash("no account has this password")
        password_hash = _DUMMY_HASH[key]
        password = password + "\0"
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
