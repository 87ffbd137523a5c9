"""Request and response schemas of the auth endpoints."""

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates

MAX_PASSWORD_LENGTH = 128  # Argon2 takes any length; a cap keeps hashing cheap for us


class CredentialsSchema(Schema):
    """An email and a password (login)."""

    email = fields.Email(required=True, validate=validate.Length(max=254),
                         metadata={"example": "ada@example.com"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH),
                             metadata={"example": "correct horse battery"})


class RegisterSchema(CredentialsSchema):
    """A new account: the password must meet the length rules."""

    @validates("password")
    def validate_password_length(self, value, **kwargs):
        """At least PASSWORD_MIN_LENGTH characters, not only spaces."""
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(value) < minimum:
            raise ValidationError(f"Password must be at least {minimum} characters long.")
        if not value.strip():
            raise ValidationError("Password must not be only whitespace.")


class UserSchema(Schema):
    """A user as clients see it (never the password hash)."""

    id = fields.Integer(dump_only=True, metadata={"example": 42})
    email = fields.Email(metadata={"example": "ada@example.com"})
    role = fields.String(metadata={"example": "customer"})
    tier = fields.String(metadata={"example": "free"})
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-12-03T09:30:00+00:00"})


class TokenSchema(Schema):
    """A bearer token answer (RFC 6749 section 5.1 names)."""

    access_token = fields.String(metadata={"example": "q8W1...x3"})
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"example": 3600})
