"""The log pipeline end to end: real gunicorn, real RQ worker, a real outbound webhook.

One request ID finds a request's access line and application lines in
gunicorn's output, its job's lines in the worker's, and the headers of the
webhook call the job makes; no log anywhere holds a password or a token.
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from project import create_app
from project.security.auth import issue_token
from tests.builders import make_product, make_user, sign_in

USER_AGENT = "log-pipeline-test/1"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def new_request_id():
    return f"test-{uuid.uuid4().hex}"


def http(url, *, request_id, method="GET", body=None, token=None):
    """Send a request to the live server; return ``(status, body bytes)``."""
    headers = {"X-Request-ID": request_id, "User-Agent": USER_AGENT, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def json_lines(text):
    """Every complete line of ``text`` parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]


def gunicorn_lines(log_file, request_ids, timeout=5.0):
    """The server's log lines, once each request ID has its access line (written after the response)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = json_lines(log_file.read_text())
        logged = {line.get("request_id") for line in lines if line["logger"] == "gunicorn.access"}
        if set(request_ids) <= logged or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_gunicorn_logs_one_json_access_line_per_request(live_server, live_server_log, ctx):
    user = make_user()
    token, _ = issue_token(user_id=user["id"])
    ids = {name: new_request_id() for name in ("ok", "missing", "invalid", "signed_in")}
    answers = {
        "ok": http(f"{live_server}/api/v1/products", request_id=ids["ok"]),
        "missing": http(f"{live_server}/api/v1/products/999999", request_id=ids["missing"]),
        "invalid": http(f"{live_server}/api/v1/products?limit=0", request_id=ids["invalid"]),
        "signed_in": http(f"{live_server}/api/v1/orders", request_id=ids["signed_in"], token=token),
    }
    assert {name: status for name, (status, _) in answers.items()} == {
        "ok": 200, "missing": 404, "invalid": 422, "signed_in": 200}

    lines = gunicorn_lines(live_server_log, ids.values())  # every line of the file parsed as JSON

    access = {name: [line for line in lines if line["logger"] == "gunicorn.access" and line["request_id"] == rid]
              for name, rid in ids.items()}
    assert all(len(found) == 1 for found in access.values()), access
    missing = access["missing"][0]
    assert missing["method"] == "GET"
    assert missing["route"] == "/api/v1/products/<id:product_id>"
    assert missing["path"] == "/api/v1/products/999999"
    assert missing["status"] == 404
    assert missing["duration_ms"] >= 0
    assert missing["bytes"] == len(answers["missing"][1])
    assert missing["client_ip"] == "127.0.0.1"
    assert missing["user_agent"] == USER_AGENT
    assert missing["user_id"] is None
    assert access["ok"][0]["status"] == 200 and access["invalid"][0]["status"] == 422
    assert access["signed_in"][0]["user_id"] == user["id"]
    for name in ("missing", "invalid"):
        reference_id = json.loads(answers[name][1])["reference_id"]
        [rejected] = [line for line in lines if line.get("reference_id") == reference_id]
        assert rejected["message"] == "request_rejected"
        assert rejected["request_id"] == ids[name]


def test_a_job_logs_under_the_request_id_that_enqueued_it(client, admin, run_worker):
    request_id = new_request_id()
    response = client.post("/api/v1/reports", json={}, headers={**admin["headers"], "X-Request-ID": request_id})
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]

    worker = run_worker()

    job_lines = [line for line in json_lines(worker.stdout) if line.get("job_id") == job_id]
    assert job_lines
    assert {line["request_id"] for line in job_lines} == {request_id}


@pytest.fixture
def webhook():
    """A local HTTP server that records each POST: ``{"url", "calls": [{"headers" (lower-case names), "body"}]}``."""
    calls = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/hooks/orders", "calls": calls}
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def hooked(settings, webhook):
    """A test client of an app that enqueues the order webhook to ``webhook``."""
    app = create_app({**settings, "WEBHOOK_URL": webhook["url"]})
    yield app.test_client()
    app.extensions["db"].close()


def test_the_order_webhook_carries_the_request_id_and_trace(ctx, hooked, webhook, run_worker):
    customer = sign_in(hooked)
    cup = make_product(stock=5)
    request_id = new_request_id()
    response = hooked.post("/api/v1/orders", json={"items": [{"product_id": cup["id"], "quantity": 1}]},
                           headers={**customer["headers"], "X-Request-ID": request_id,
                                    "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    assert response.status_code == 201
    order = response.get_json()

    worker = run_worker(WEBHOOK_URL=webhook["url"])

    [call] = webhook["calls"]
    assert call["headers"]["x-request-id"] == request_id
    assert call["headers"]["traceparent"].split("-")[1] == TRACE_ID
    assert call["body"]["order"]["id"] == order["id"]
    assert call["body"]["order"]["items"][0]["product_id"] == cup["id"]
    outbound = [line for line in json_lines(worker.stdout) if line["message"] == "http_outbound"]
    assert [(line["request_id"], line["status"]) for line in outbound] == [(request_id, 204)]


def test_no_log_holds_a_password_or_a_token(ctx, capsys, hooked, webhook, run_worker, live_server, live_server_log):
    password = f"pw-{uuid.uuid4().hex}"
    cup = make_product(stock=5)
    order = {"items": [{"product_id": cup["id"], "quantity": 1}]}
    # Through the test client: register, a wrong password, sign in, order (a webhook job), a bad token.
    local = {"email": "local@example.com", "password": password}
    assert hooked.post("/api/v1/auth/register", json=local).status_code == 201
    assert hooked.post("/api/v1/auth/token", json={**local, "password": "wrong"}).status_code == 401
    local_token = hooked.post("/api/v1/auth/token", json=local).get_json()["access_token"]
    signed_in = {"Authorization": f"Bearer {local_token}"}
    assert hooked.post("/api/v1/orders", json=order, headers=signed_in).status_code == 201
    assert hooked.get("/api/v1/orders", headers={"Authorization": f"Bearer {local_token}x"}).status_code == 401
    # Through the real gunicorn: register, sign in, use the token.
    remote = {"email": "remote@example.com", "password": password}
    ids = [new_request_id() for _ in range(3)]
    assert http(f"{live_server}/api/v1/auth/register", method="POST", body=remote, request_id=ids[0])[0] == 201
    status, answer = http(f"{live_server}/api/v1/auth/token", method="POST", body=remote, request_id=ids[1])
    assert status == 200
    remote_token = json.loads(answer)["access_token"]
    assert http(f"{live_server}/api/v1/orders", token=remote_token, request_id=ids[2])[0] == 200
    worker = run_worker(WEBHOOK_URL=webhook["url"])
    assert len(webhook["calls"]) == 1

    gunicorn_lines(live_server_log, ids)  # wait for the access lines
    logged = {"app": capsys.readouterr().out, "worker": worker.stdout + worker.stderr,
              "gunicorn": live_server_log.read_text()}
    assert all(logged.values())
    for where, text in logged.items():
        for name, secret in {"password": password, "token": local_token, "live token": remote_token}.items():
            assert secret not in text, f"the {name} is in the {where} log"
