"""Schemas of orders."""

from marshmallow import Schema, ValidationError, fields, validate, validates

from project.store.schemas import MAX_ID, collection_schema

MAX_QUANTITY = 1000
MAX_LINES = 50


class OrderLineSchema(Schema):
    """One line of an order request."""

    product_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID),
                                metadata={"example": 1})
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY),
                              metadata={"example": 2})


class OrderRequestSchema(Schema):
    """``{"items": [{"product_id": 1, "quantity": 2}]}``."""

    items = fields.List(fields.Nested(OrderLineSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_LINES))

    @validates("items")
    def validate_distinct_products(self, items, **kwargs):
        """Each product appears once; send one line with the total quantity."""
        # A line whose product_id failed its own validation is absent here (already reported).
        ids = [line["product_id"] for line in items if "product_id" in line]
        if len(ids) != len(set(ids)):
            raise ValidationError("Each product_id may appear only once.")


class OrderItemSchema(Schema):
    """A line of a placed order, with the name and price at the time of the order."""

    product_id = fields.Integer(allow_none=True, metadata={"example": 1})
    product_name = fields.String(metadata={"example": "Espresso cup"})
    quantity = fields.Integer(metadata={"example": 2})
    unit_price = fields.Decimal(places=2, as_string=True, metadata={"example": "9.99"})


class OrderSchema(Schema):
    """A placed order."""

    id = fields.Integer(metadata={"example": 7})
    user_id = fields.Integer(metadata={"example": 42})
    status = fields.String(metadata={"example": "placed"})
    total = fields.Decimal(places=2, as_string=True, metadata={"example": "19.98"})
    created_at = fields.DateTime(metadata={"example": "2026-12-03T20:16:11+00:00"})
    items = fields.List(fields.Nested(OrderItemSchema))


OrderCollectionSchema = collection_schema(OrderSchema, "OrderCollection")
