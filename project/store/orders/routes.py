"""Orders: ``/api/v1/orders``. Customers see their own; admins see all."""

import redis
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from project import caching, tasks
from project.errors import NotFound
from project.observability import metrics
from project.observability.logging import get_logger
from project.security import monitoring
from project.security.auth import current_user, login_required
from project.store.orders import idempotency, repository
from project.store.orders.jobs import notify_order_placed
from project.store.orders.schemas import OrderCollectionSchema, OrderRequestSchema, OrderSchema
from project.store.schemas import PageArgsSchema

log = get_logger(__name__)
blp = Blueprint("orders", __name__, url_prefix="/orders", description="Placing and reading orders.")
SIGNED_IN = [{"bearerAuth": []}]


@blp.route("")
class Orders(MethodView):
    """The caller's orders."""

    @login_required
    @blp.arguments(OrderRequestSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(409, description="Not enough stock for some product; nothing was ordered.")
    @blp.doc(security=SIGNED_IN, parameters=[idempotency.PARAMETER])
    def post(self, order):
        """Place an order.

        1-50 lines, each product once, quantity 1-1000. Stock is checked and taken in one transaction
        with row locks, so concurrent orders never oversell; when some product is short, nothing is
        taken and the answer is 409 `insufficient-stock`, with each short line in `errors`. Limited to
        30 a minute per caller (`orders`) on top of the tier. With an `Idempotency-Key`, a retry gets
        the first answer again (`Idempotent-Replayed: true`) and orders nothing new.
        """
        key = idempotency.key_from_request()
        if key is None:
            placed = repository.place_order(user_id=current_user()["id"], lines=order["items"])
        else:
            placed, first_answer = idempotency.place_order_once(user_id=current_user()["id"], key=key, payload=order)
            if first_answer is not None:
                return first_answer  # a retry: its order was announced when it was placed
        caching.stock_changed(item["product_id"] for item in placed["items"])  # committed: fresh stock everywhere
        metrics.order_placed(placed)
        if current_app.config["WEBHOOK_URL"]:
            try:
                tasks.enqueue(notify_order_placed, placed["id"], user_id=placed["user_id"])
            except redis.RedisError:
                # The order is committed: answering 503 would invite a duplicate retry.
                log.error("webhook_enqueue_failed", order_id=placed["id"], exc_info=True)
        return placed

    @login_required
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, OrderCollectionSchema)
    @blp.doc(security=SIGNED_IN)
    def get(self, args):
        """List your orders, newest first.

        Admins see everyone's.
        """
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
        """Get an order.

        Its owner or an admin may read it; to anyone else it does not exist (404).
        """
        user = current_user()
        order = repository.get_order(order_id=order_id)
        if order is None or not monitoring.authorize(user, user["role"] == "admin" or order["user_id"] == user["id"],
                                                     resource=f"order/{order_id}", rule="owner_or_admin"):
            raise NotFound(f"Order {order_id} does not exist.")
        return order
