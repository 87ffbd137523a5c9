"""Request IDs and trace context through the app: kept, replaced, returned and on every log line.

Log lines go to the current ``sys.stdout`` as JSON, so ``capsys`` sees them.
Hostile header values go in through the WSGI environ, as a server would pass
them (bytes as latin-1), since the test client refuses some of them.
"""

import json
import logging
import re

import pytest

from project.observability import context
from project.observability.correlation import get_request_id
from tests.problems import assert_problem

HEX32 = re.compile(r"[0-9a-f]{32}")
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def log_lines(capsys):
    """Every line logged since the last call, parsed (each must be one JSON object)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def get(client, request_id=None, **headers):
    """GET /health with ``X-Request-ID`` set verbatim in the environ (None: no header)."""
    environ = {} if request_id is None else {"HTTP_X_REQUEST_ID": request_id}
    return client.get("/health", headers=headers, environ_overrides=environ)


def as_wsgi(text):
    """``text`` as a WSGI server hands it over: its UTF-8 bytes decoded as latin-1."""
    return text.encode().decode("latin-1")


def test_every_response_has_a_request_id_and_a_traceparent(client):
    response = get(client)
    assert HEX32.fullmatch(response.headers["X-Request-ID"])
    assert TRACEPARENT.fullmatch(response.headers["traceparent"])
    assert "tracestate" not in response.headers


def test_each_request_gets_its_own_ids(client):
    first, second = get(client), get(client)
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert first.headers["traceparent"] != second.headers["traceparent"]


@pytest.mark.parametrize("request_id", ["abc-123_x.y:z", "r" * 128, "550e8400-e29b-41d4-a716-446655440000"])
def test_a_valid_request_id_comes_back_unchanged(client, capsys, request_id):
    response = client.get("/health", headers={"X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id
    assert not [line for line in log_lines(capsys) if line.get("event") == "request_id_replaced"]


@pytest.mark.parametrize("hostile", [
    "",
    "evil" * 32 + "x",  # 129 characters
    "evil" * 2500,  # 10,000 characters
    "evil id",
    "evil\ninjected: yes",
    "evil\r\nSet-Cookie: x=1",
    "evil\x00\x07\x1b[31mred",
    as_wsgi("\u00e9vil"),
    as_wsgi("evil-\u65e5\u672c"),
    "evil/../../etc",
])
def test_an_invalid_request_id_is_replaced_and_never_logged(client, capsys, hostile):
    response = get(client, hostile)
    new_id = response.headers["X-Request-ID"]
    assert HEX32.fullmatch(new_id)
    lines = log_lines(capsys)
    [warning] = [line for line in lines if line.get("event") == "request_id_replaced"]
    assert warning["level"] == "WARNING"
    assert warning["new_request_id"] == new_id and warning["request_id"] == new_id
    assert warning["invalid_length"] == len(hostile)
    if hostile:
        logged = json.dumps(lines, ensure_ascii=False)
        assert hostile not in logged and "evil" not in logged


def test_a_non_ascii_request_id_from_the_test_client_is_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "caf\u00e9"})
    assert HEX32.fullmatch(response.headers["X-Request-ID"])


def test_a_valid_traceparent_continues_the_trace_with_a_new_parent(client):
    response = get(client, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    trace_id, parent_id, flags = TRACEPARENT.fullmatch(response.headers["traceparent"]).groups()
    assert trace_id == TRACE_ID and flags == "01"
    assert parent_id != PARENT_ID


@pytest.mark.parametrize("header", [
    f"00-{'0' * 32}-{PARENT_ID}-01",
    f"00-{TRACE_ID}-{'0' * 16}-01",
    f"ff-{TRACE_ID}-{PARENT_ID}-01",
    f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
    f"00-{TRACE_ID}-{PARENT_ID}",
    "garbage",
])
def test_an_invalid_traceparent_starts_a_new_trace(client, header):
    response = get(client, traceparent=header, tracestate="congo=t61rcWkgMzE")
    trace_id, _, _ = TRACEPARENT.fullmatch(response.headers["traceparent"]).groups()
    assert trace_id not in (TRACE_ID, "0" * 32)
    assert "tracestate" not in response.headers


def test_tracestate_passes_through(client):
    response = get(client, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01", tracestate="rojo=00f067aa0ba902b7, congo=1")
    assert response.headers["tracestate"] == "rojo=00f067aa0ba902b7,congo=1"


def test_a_malformed_tracestate_is_dropped_but_the_trace_continues(client):
    response = get(client, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01", tracestate="BAD KEY=1")
    assert TRACEPARENT.fullmatch(response.headers["traceparent"]).group(1) == TRACE_ID
    assert "tracestate" not in response.headers


@pytest.mark.parametrize("incoming", [None, "support-case-42"])
def test_an_error_body_carries_the_request_id_of_the_header(client, incoming):
    headers = {"X-Request-ID": incoming} if incoming else {}
    response = client.get("/no-such-page", headers=headers)
    body = assert_problem(response, 404)
    assert body["request_id"] == response.headers["X-Request-ID"]
    if incoming:
        assert body["request_id"] == incoming


def test_every_line_of_one_request_carries_its_ids(client, capsys):
    log_lines(capsys)  # drop anything logged before the request
    # A replaced request ID and a 422: two lines from two modules in one request.
    response = client.post("/api/v1/auth/register", json={"email": "not-an-email"},
                           headers={"X-Request-ID": "not valid", "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert_problem(response, 422)
    request_id = response.headers["X-Request-ID"]
    # Only the app's lines: other threads (pools of other tests' apps) may write meanwhile.
    lines = [line for line in log_lines(capsys) if line["logger"].startswith("project.")]
    assert {line.get("event") for line in lines} >= {"request_id_replaced", "request_rejected"}
    [rejected] = [line for line in lines if line.get("event") == "request_rejected"]
    assert rejected["status"] == 422 and rejected["request_id"] == request_id
    assert rejected["route"] == "/api/v1/auth/register" and rejected["method"] == "POST"
    assert all(line["request_id"] == request_id and line["trace_id"] == TRACE_ID for line in lines), lines


def test_no_request_context_is_left_behind(client, capsys):
    client.get("/health", headers={"X-Request-ID": "finished-request"})
    logging.getLogger("tests.after").warning("after the request")
    [after] = [line for line in log_lines(capsys) if line["message"] == "after the request"]
    assert after["request_id"] != "finished-request"


def test_get_request_id_outside_a_request_is_stable_within_one_context(app):
    with app.app_context(), context.bind():  # bind(): one CLI-like scope, left behind by neither
        first = get_request_id()
        assert HEX32.fullmatch(first)
        assert get_request_id() == first
    with app.app_context(), context.bind():
        assert get_request_id() != first
