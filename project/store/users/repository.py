"""SQL for users."""

import psycopg

from project import db

USER_COLUMNS = "id, email, role, tier, created_at"


class DuplicateEmail(Exception):
    """An account with this email already exists."""


def create_user(*, email, password_hash, role="customer", tier="free", conn=None):
    """Insert a user and return it; raise DuplicateEmail when the email is taken."""
    try:
        return db.fetch_one(
            f"INSERT INTO users (email, password_hash, role, tier) VALUES (%s, %s, %s, %s)"  # noqa: S608 - constant columns
            f" RETURNING {USER_COLUMNS}",
            (email, password_hash, role, tier),
            conn=conn,
        )
    except psycopg.errors.UniqueViolation:
        raise DuplicateEmail(email) from None


def get_credentials(*, email):
    """The user's id and password hash for a login, or None."""
    return db.fetch_one("SELECT id, password_hash FROM users WHERE lower(email) = lower(%s)", (email,))


def update_password_hash(*, user_id, password_hash):
    """Store a re-computed hash (after Argon2 parameters were raised)."""
    db.fetch_one("UPDATE users SET password_hash = %s WHERE id = %s RETURNING id", (password_hash, user_id))

