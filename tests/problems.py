"""Assertions for RFC 9457 problem answers, shared by the functional tests."""

PROBLEM_JSON = "application/problem+json"
MEMBERS = {"type", "title", "status", "detail", "instance", "request_id", "reference_id"}


def assert_problem(response, status):
    """The response is a complete problem+json answer with ``status``; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert MEMBERS <= body.keys(), body
    assert body["status"] == status
    assert body["type"].startswith("/problems/") or body["type"] == "about:blank"
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def error_fields(body):
    """The top-level field names the ``errors`` list points at (``/items/0/quantity`` gives ``items``)."""
    return {error["field"].split("/")[1] for error in body.get("errors", [])}


def messages_for(body, pointer):
    """Every message the ``errors`` list has for the JSON pointer ``pointer``."""
    return [error["message"] for error in body.get("errors", []) if error["field"] == pointer]


def without_ids(body):
    """The body without the per-request ``request_id`` and ``reference_id``, for comparing two answers."""
    return {key: value for key, value in body.items() if key not in ("request_id", "reference_id")}
