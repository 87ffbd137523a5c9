"""Schemas of the product catalogue."""

from decimal import Decimal

from marshmallow import Schema, fields, validate

from project.store.fields import Money, Text
from project.store.schemas import PageArgsSchema, collection_schema

SORTS = ("id", "-id", "name", "-name", "price", "-price")
MAX_PRICE = Decimal("99999999.99")  # numeric(10, 2)


class ProductSchema(Schema):
    """A product; ``price`` is a decimal string with two places."""

    id = fields.Integer(dump_only=True, metadata={"example": 1})
    name = Text(required=True, validate=validate.Length(min=1, max=200),
                metadata={"example": "Espresso cup"})
    description = Text(load_default="", blank=True, validate=validate.Length(max=2000),
                       metadata={"example": "Porcelain, 90 ml."})
    category = Text(required=True, validate=validate.Length(min=1, max=50),
                    metadata={"example": "kitchen"})
    price = Money(required=True, validate=validate.Range(min=Decimal("0"), max=MAX_PRICE),
                  metadata={"example": "9.99"})
    stock = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1),
                           metadata={"example": 25})


class ProductUpdateSchema(ProductSchema):
    """A partial update: any subset of the fields, at least one."""

    def __init__(self, *args, **kwargs):
        """Every field optional (marshmallow has no ``Meta.partial``; it is a constructor argument)."""
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class ProductQuerySchema(PageArgsSchema):
    """Filters, search and sort for the product list."""

    category = Text(validate=validate.Length(min=1, max=50))
    q = Text(validate=validate.Length(min=1, max=100), metadata={"description": "Search in names."})
    sort = fields.String(load_default="id", validate=validate.OneOf(SORTS))


ProductCollectionSchema = collection_schema(ProductSchema, "ProductCollection")
