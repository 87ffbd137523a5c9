"""Password hashing with Argon2id (argon2-cffi, RFC 9106 parameters).

The clear password is never stored or logged; only the encoded hash, which
carries its own salt and parameters, so they can be raised later and old
hashes re-hashed on the next login.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes the same time
# whether or not the account exists (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("dummy password for unknown accounts")


def hash_password(password):
    """Return the Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """True when ``password`` matches ``password_hash``; None hash burns the same time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
