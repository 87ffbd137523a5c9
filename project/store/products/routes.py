"""The product catalogue: ``/api/v1/products``."""

from flask.views import MethodView
from flask_smorest import Blueprint

from project import caching
from project.errors import Conflict, NotFound, ValidationFailed
from project.security.auth import admin_required
from project.store.products import repository
from project.store.products.schemas import (
    ProductCollectionSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
)

blp = Blueprint("products", __name__, url_prefix="/products", description="The product catalogue.")
ADMIN = [{"bearerAuth": []}]
NOT_MODIFIED = "Not modified: `If-None-Match` holds the current `ETag` (no body)."


def _name_taken(name):
    return Conflict(f"A product named {name!r} already exists.")


@blp.route("")
class Products(MethodView):
    """The catalogue as a collection."""

    @caching.product_list_cache  # outermost: a hit skips argument parsing and serialisation
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductCollectionSchema)
    @blp.alt_response(304, description=NOT_MODIFIED)
    def get(self, args):
        """List products: paginate, filter by category, search names, sort.

        Anyone may browse. Pages are cached (`CACHE_LIST_TTL`) and carry an `ETag`: send it back in
        `If-None-Match` for a 304 without a body.
        """
        items, total = repository.list_products(
            limit=args["limit"], offset=args["offset"], category=args.get("category"),
            q=args.get("q"), sort=args["sort"])
        return {"items": items, "total": total, "limit": args["limit"], "offset": args["offset"]}

    @admin_required
    @blp.arguments(ProductSchema)
    @blp.response(201, ProductSchema)
    @blp.alt_response(409, description="A product with this name exists.")
    @blp.doc(security=ADMIN)
    def post(self, product):
        """Create a product.

        `price` is a decimal string with at most two places. 409 when a product has this name.
        """
        try:
            created = repository.create_product(**product)
        except repository.DuplicateName as exc:
            raise _name_taken(str(exc)) from None
        caching.product_created()  # committed (autocommit): the next list read anywhere shows it
        return created


@blp.route("/<id:product_id>")
class Product(MethodView):
    """One product."""

    @caching.product_cache
    @blp.response(200, ProductSchema)
    @blp.alt_response(304, description=NOT_MODIFIED)
    @blp.alt_response(404, description="No such product.")
    def get(self, product_id):
        """Get a product.

        Anyone may read it. Cached (`CACHE_PRODUCT_TTL`), with an `ETag` for conditional requests
        (`If-None-Match` → 304).
        """
        product = repository.get_product(product_id=product_id)
        if product is None:
            raise NotFound(f"Product {product_id} does not exist.")
        return product

    @admin_required
    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    @blp.alt_response(404, description="No such product.")
    @blp.doc(security=ADMIN)
    def patch(self, changes, product_id):
        """Change some of a product's fields.

        Send any subset of the fields, at least one. 409 when the new name is taken by another product.
        """
        if not changes:
            raise ValidationFailed("Send at least one field to change.")
        try:
            product = repository.update_product(product_id=product_id, changes=changes)
        except repository.DuplicateName as exc:
            raise _name_taken(str(exc)) from None
        if product is None:
            raise NotFound(f"Product {product_id} does not exist.")
        caching.product_changed(product_id)
        return product

    @admin_required
    @blp.response(204)
    @blp.alt_response(404, description="No such product.")
    @blp.doc(security=ADMIN)
    def delete(self, product_id):
        """Delete a product.

        Past orders keep its name and price.
        """
        if not repository.delete_product(product_id=product_id):
            raise NotFound(f"Product {product_id} does not exist.")
        caching.product_changed(product_id)
