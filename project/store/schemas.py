"""Schemas shared by every resource: paging arguments and collection answers."""

from marshmallow import Schema, fields, validate

MAX_ID = 2**63 - 1  # PostgreSQL bigint


class PageArgsSchema(Schema):
    """``limit`` and ``offset`` query arguments."""

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


def collection_schema(item_schema, name):
    """A schema for ``{"items": [...], "total", "limit", "offset"}`` of ``item_schema``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Integer(metadata={"example": 1}),
            "limit": fields.Integer(metadata={"example": 20}),
            "offset": fields.Integer(metadata={"example": 0}),
        },
        name=name,
    )
