"""How the store's own marshmallow fields appear in the OpenAPI schemas.

apispec documents every ``fields.Decimal`` as a JSON number, but ours are
exchanged as strings (``"9.99"``): a client that trusted ``type: number``
would send the wrong thing, and a validator of our answers would reject every
price. A decimal with ``as_string`` is a string with a pattern instead.
"""

from decimal import Decimal

from marshmallow import fields, validate

from project.store.fields import Money

RANGE_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _pattern(field):
    """A regular expression for the decimal strings ``field`` accepts or produces."""
    low = high = None
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            low, high = validator.min, validator.max
    sign = "" if low is not None and Decimal(low) >= 0 else "-?"
    digits = f"{{1,{len(str(int(Decimal(high))))}}}" if high is not None else "+"
    if field.places is None:  # Money refuses more than two places; another decimal may have any
        fraction = "(\\.\\d{1,2})?" if isinstance(field, Money) else "(\\.\\d+)?"
    else:  # marshmallow keeps ``places`` as a quantum such as Decimal("0.01")
        exponent = field.places.as_tuple().exponent if isinstance(field.places, Decimal) else -field.places
        fraction = f"\\.\\d{{{-exponent}}}"
    return f"^{sign}\\d{digits}{fraction}$"


def decimal_strings(self, field, ret, **kwargs):
    """An apispec attribute function: a string-valued decimal is ``type: string`` with a pattern, not a number."""
    if not isinstance(field, fields.Decimal) or not field.as_string:
        return {}
    for key in RANGE_KEYS:  # numeric bounds do not apply to a string; the pattern carries them
        ret.pop(key, None)
    nullable = isinstance(ret.get("type"), list) and "null" in ret["type"]
    return {"type": ["string", "null"] if nullable else "string", "format": "decimal", "pattern": _pattern(field)}


def register(api):
    """Teach the current app's spec about our fields (before blueprints are registered)."""
    api.ma_plugin.converter.add_attribute_function(decimal_strings)
