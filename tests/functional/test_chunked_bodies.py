"""Chunked request bodies through a real gunicorn: the same limit and answers as bodies with a length.

A chunked body has no ``Content-Length`` for Werkzeug to check; past
``MAX_CONTENT_LENGTH`` its stream just stops, and the cut JSON used to answer
400 "Invalid JSON body" where the client needs 413.
"""

import http.client
import json
import uuid

import pytest

from tests.problems import MEMBERS

LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH's default


def post_chunked(base_url, path, body, chunk=16 * 1024):
    """POST ``body`` with ``Transfer-Encoding: chunked``; return ``(status, headers, parsed JSON)``."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", path, body=(body[i:i + chunk] for i in range(0, len(body), chunk)),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.headers, json.loads(response.read())
    finally:
        connection.close()


def registration(size):
    """A registration body of exactly ``size`` bytes (an unknown ``pad`` field makes it a 422 when read)."""
    body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "correct horse battery", "pad": ""}
    body["pad"] = "p" * (size - len(json.dumps(body)))
    encoded = json.dumps(body).encode()
    assert len(encoded) == size
    return encoded


def test_a_chunked_body_over_the_limit_is_413_problem_json(live_server):
    status, headers, problem = post_chunked(live_server, "/api/v1/auth/register", registration(LIMIT + 1))

    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    assert MEMBERS <= problem.keys() and problem["type"] == "/problems/payload-too-large"
    assert problem["request_id"] == headers["X-Request-ID"]


@pytest.mark.parametrize("size", [LIMIT, LIMIT - 1000])
def test_a_chunked_body_within_the_limit_is_read_whole(live_server, size):
    status, _, problem = post_chunked(live_server, "/api/v1/auth/register", registration(size))

    assert status == 422, problem  # read to the end: the schema saw the unknown field
    assert [error["field"] for error in problem["errors"]] == ["/pad"]


def test_a_small_chunked_body_works_like_any_other(live_server):
    email = f"{uuid.uuid4().hex}@example.com"
    body = json.dumps({"email": email, "password": "correct horse battery"}).encode()

    status, _, account = post_chunked(live_server, "/api/v1/auth/register", body, chunk=7)

    assert status == 201 and account["email"] == email
