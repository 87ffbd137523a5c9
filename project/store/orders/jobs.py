"""Order jobs: tell an outside system about each new order (``WEBHOOK_URL``)."""

from flask import current_app

from project.outbound import post_json
from project.protection import breakers
from project.store.orders import repository


def notify_order_placed(order_id):
    """POST the order to ``WEBHOOK_URL``; a failure fails the job (kept in RQ's failed registry).

    Through the ``webhook`` circuit breaker: while it is open no call is made; the job is
    rescheduled (an RQ ``Retry``) for when a trial call may go through.
    """
    url = current_app.config["WEBHOOK_URL"]
    order = repository.get_order(order_id=order_id)
    if not url or order is None:
        return {"sent": False}
    payload = {"event": "order.placed", "order": {
        "id": order["id"], "user_id": order["user_id"], "status": order["status"], "total": str(order["total"]),
        "created_at": order["created_at"].isoformat(),
        "items": [{**item, "unit_price": str(item["unit_price"])} for item in order["items"]]}}
    try:
        status = breakers.get("webhook").call(post_json, url, payload, timeout=current_app.config["WEBHOOK_TIMEOUT"])
    except breakers.CircuitOpen as error:
        return breakers.retry_later(error)
    return {"sent": True, "status": status}
