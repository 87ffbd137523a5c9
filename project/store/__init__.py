"""The store's domain: users, products, orders, reports."""

from werkzeug.routing import IntegerConverter

from project.store.schemas import MAX_ID


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive bigint; anything else in the path is a 404, never a database error."""

    def __init__(self, url_map):
        """An integer converter bounded to PostgreSQL's bigint range."""
        super().__init__(url_map, min=1, max=MAX_ID)


def init_app(app):
    """Register the ``id`` path converter on the app and in the OpenAPI spec."""
    from project.extensions import api

    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, lambda converter: {"type": "integer", "format": "int64", "minimum": 1})
