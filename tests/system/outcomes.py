"""The checks every fault run must pass: answers, orders, logs."""

import json
import uuid

from tests.system.helpers import customer_orders
from tests.system.load import PROBLEM_JSON, Answer, problems_in, send


def supports_idempotency(url, token, product):
    """True when a repeated ``POST /orders`` with one Idempotency-Key returns the first order."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    body = {"items": [{"product_id": product, "quantity": 1}]}
    first, second = (send(url, "POST", "/api/v1/orders", headers=headers, body=body) for _ in range(2))
    return first.status == 201 and second.status in (200, 201) and second.body.get("id") == first.body["id"]


def check_answers(outcomes):
    """Every request got an answer, a success or problem+json, none hung; return the resets counted."""
    assert outcomes, "the load sent nothing"
    assert not [o for o in outcomes if o.hung], "a request hung beyond its timeout"
    unanswered = [(o.method, o.path, o.attempts[-3:]) for o in outcomes if o.final is None]
    assert not unanswered, f"retried until the deadline without an answer: {unanswered[:5]}"
    assert problems_in(outcomes) == []
    failed = [(o.method, o.path, o.final.status, o.final.body) for o in outcomes if o.final.status >= 500]
    assert not failed, f"still failing after the client's retries: {failed[:5]}"
    return sum(o.resets for o in outcomes)


def check_orders(outcomes, user_id, *, idempotent, before=frozenset()):
    """No order lost; none duplicated (with Idempotency-Key), or duplicates only where a retry was blind."""
    posts = [o for o in outcomes if o.method == "POST" and o.path == "/api/v1/orders"]
    answered = {o.final.body["id"] for o in posts if o.final.status == 201}
    assert len(answered) == len([o for o in posts if o.final.status == 201]), "two keys answered one order"
    stored = customer_orders(user_id)
    assert answered <= stored, f"answered 201 but not in the database: {answered - stored}"
    extra = stored - answered - set(before)  # ``before``: the customer's orders from before the load
    if idempotent:
        assert not extra, f"orders created without a 201 to the client (duplicates): {sorted(extra)}"
    else:  # without keys a retry after a reset or 503 may create a second order: bound them
        blind = sum(1 for o in posts if len(o.attempts) > 1)
        assert len(extra) <= blind, (extra, blind)
    return len(answered), len(extra)


def check_5xx_logged(outcomes, log_text):
    """Each 5xx answer's reference ID is in some log line of the instances."""
    references = [answer.body["reference_id"] for o in outcomes for answer in o.attempts
                  if isinstance(answer, Answer) and answer.status >= 500
                  and PROBLEM_JSON in answer.headers.get("content-type", "")]
    logged = set()
    for line in log_text.splitlines():
        try:
            logged.add(json.loads(line).get("reference_id"))
        except (ValueError, AttributeError):
            continue
    missing = [reference for reference in references if reference not in logged]
    assert not missing, f"5xx answers without a log line: {missing[:5]}"
    return len(references)
