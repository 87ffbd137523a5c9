"""Orders: ``/api/v1/orders``. Customers see their own; admins see all."""

from flask.views import MethodView
from flask_smorest import Blueprint

from project.errors import NotFound
from project.security.auth import current_user, login_required
from project.store.orders import repository
from project.store.orders.schemas import OrderCollectionSchema, OrderRequestSchema, OrderSchema
from project.store.schemas import PageArgsSchema

blp = Blueprint("orders", __name__, url_prefix="/orders", description="Placing and reading orders.")
SIGNED_IN = [{"bearerAuth": []}]


@blp.route("")
class Orders(MethodView):
    """The caller's orders."""

    @login_required
    @blp.arguments(OrderRequestSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(409, description="Not enough stock for some product; nothing was ordered.")
    @blp.doc(security=SIGNED_IN)
    def post(self, order):
        """Place an order: stock is checked and taken in one transaction."""
        return repository.place_order(user_id=current_user()["id"], lines=order["items"])

    @login_required
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, OrderCollectionSchema)
    @blp.doc(security=SIGNED_IN)
    def get(self, args):
        """List the caller's orders, newest first (admins: everyone's)."""
        user = current_user()
        owner = None if user["role"] == "admin" else user["id"]
        items, total = repository.list_orders(user_id=owner, limit=args["limit"], offset=args["offset"])
        return {"items": items, "total": total, "limit": args["limit"], "offset": args["offset"]}


@blp.route("/<id:order_id>")
class Order(MethodView):
    """One order."""

    @login_required
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, description="No such order, or not yours.")
    @blp.doc(security=SIGNED_IN)
    def get(self, order_id):
        """Get an order: its owner or an admin; anyone else is told it does not exist."""
        user = current_user()
        order = repository.get_order(order_id=order_id)
        if order is None or (user["role"] != "admin" and order["user_id"] != user["id"]):
            raise NotFound(f"Order {order_id} does not exist.")
        return order
