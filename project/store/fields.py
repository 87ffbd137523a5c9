"""Schema fields shared by the store's resources."""

from marshmallow import ValidationError, fields


def _no_control_characters(value):
    """PostgreSQL text cannot hold NUL, and no store field needs other control characters."""
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        raise ValidationError("Control characters are not allowed.")


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


class Text(fields.String):
    """A string PostgreSQL can store (no NUL or control characters); not blank unless ``blank=True``."""

    def __init__(self, *args, blank=False, **kwargs):
        """Add the checks to the field's own validators (422 here, never a driver error)."""
        super().__init__(*args, **kwargs)
        self.validators = [*self.validators, _no_control_characters, *([] if blank else [_not_blank])]


def _two_places(value):
    if value.as_tuple().exponent < -2:
        raise ValidationError("At most two decimal places.")


class Money(fields.Decimal):
    """A decimal amount with at most two places, exchanged as a string (``"9.99"``).

    More places are refused rather than silently rounded.
    """

    def __init__(self, *args, **kwargs):
        """A string-valued decimal with the two-places check."""
        super().__init__(*args, as_string=True, **kwargs)
        self.validators = [*self.validators, _two_places]
