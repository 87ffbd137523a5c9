"""Circuit breakers against a real local HTTP server, shared across real processes through real Valkey.

The server fails (500s, or hangs past ``WEBHOOK_TIMEOUT``): the breaker opens
after its threshold, another process sees it open and is refused without a
call, it half-opens after its (shortened) reset timeout and closes when the
server answers again. Each transition is logged exactly once, whichever
process made it. An open circuit answers 503 problem+json with Retry-After
on the request path, and defers the webhook job, which later succeeds.
"""

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import current_app
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from project import create_app
from project.outbound import OutboundError, post_json
from project.protection import breakers
from project.redis_client import get_redis
from project.store.orders.jobs import notify_order_placed
from tests.builders import make_order, make_product, make_user
from tests.conftest import ROOT
from tests.logs import captured_log_lines, json_log_lines
from tests.problems import assert_problem

RESET_TIMEOUT = 1.0
THRESHOLD = 3
BREAKER_SETTINGS = {"BREAKER_FAILURE_THRESHOLD": THRESHOLD, "BREAKER_RESET_TIMEOUT": RESET_TIMEOUT,
                    "WEBHOOK_TIMEOUT": 0.3, "HEALTH_TOKEN": "operator-token", "HEALTH_CACHE_SECONDS": 0}


@pytest.fixture
def server():
    """A local HTTP server whose ``mode`` is ``ok`` (204), ``fail`` (500) or ``hang`` (answers after 1 s)."""
    state = {"mode": "ok", "calls": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state["calls"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            if state["mode"] == "hang":
                time.sleep(1.0)
            self.send_response(500 if state["mode"] == "fail" else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_port}/hooks/orders"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def breaker_app(settings, server):
    """A fresh app with a short reset timeout, whose webhook is the local server; plus a test-only route."""
    app = create_app({**settings, **BREAKER_SETTINGS, "WEBHOOK_URL": server["url"]})

    @app.route("/test-only/notify", methods=["POST"])
    def notify():
        status = breakers.get("webhook").call(post_json, server["url"], {"ping": 1}, timeout=0.3)
        return {"status": status}

    yield app
    app.extensions["db"].close()


@pytest.fixture
def probe_env(service_env):
    """The environment of another process with the same breaker settings."""
    return {**service_env, **{name: str(value) for name, value in BREAKER_SETTINGS.items()}}


class Probes:
    """Other processes using the breaker (``tests.functional.breaker_probe``), started and made ready first."""

    def __init__(self, env, *args, count=1):
        self.processes = [subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tests.functional.breaker_probe", *args], env=env, cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(count)]
        for process in self.processes:
            while (line := process.stdout.readline()) and json.loads(line) != {"ready": True}:
                pass  # start-up log lines, if any
            assert line, "the probe exited before it was ready"

    def run(self):
        """Let them all start at the same moment; return each one's (summary, log lines)."""
        start_at = time.time() + 0.2
        for process in self.processes:
            process.stdin.write(f"{start_at}\n")
            process.stdin.flush()
        return [parse_probe(process.communicate(timeout=60)[0]) for process in self.processes]


def parse_probe(stdout):
    lines = json_log_lines(stdout)
    [summary] = [line["probe"] for line in lines if "probe" in line]
    return summary, lines


def transitions(lines):
    return [(line["breaker"], line["from"], line["to"]) for line in lines
            if line.get("message") == "circuit_breaker_state_changed"]


def log_lines(capsys):
    return captured_log_lines(capsys)


def webhook_call():
    breakers.get("webhook").call(post_json, current_app.config["WEBHOOK_URL"], {"n": 1},
                                 timeout=current_app.config["WEBHOOK_TIMEOUT"])


@pytest.mark.parametrize("failure", ["fail", "hang"])
def test_opens_after_the_threshold_is_shared_half_opens_and_closes(breaker_app, server, probe_env, capsys, failure):
    server["mode"] = failure
    other = Probes(probe_env, "--url", server["url"])
    with breaker_app.app_context():
        for _ in range(THRESHOLD):
            with pytest.raises(OutboundError):
                webhook_call()
        assert len(server["calls"]) == THRESHOLD
        with pytest.raises(breakers.CircuitOpen):  # fails fast: the server is not called
            webhook_call()
        assert len(server["calls"]) == THRESHOLD
        assert breakers.get("webhook").status()["state"] == "open"

        # Another process sees it open and is refused without calling the server.
        [(seen, _)] = other.run()
        assert (seen["status"]["state"], seen["short_circuited"], seen["executed"]) == ("open", 1, 0)
        assert len(server["calls"]) == THRESHOLD

        time.sleep(RESET_TIMEOUT + 0.1)
        assert breakers.get("webhook").status()["state"] == "half_open"
        server["mode"] = "ok"
        webhook_call()  # the trial call succeeds
        assert breakers.get("webhook").status()["state"] == "closed"
        assert len(server["calls"]) == THRESHOLD + 1

    assert transitions(log_lines(capsys)) == [
        ("webhook", "closed", "open"), ("webhook", "open", "half_open"), ("webhook", "half_open", "closed")]


def test_processes_racing_make_each_transition_once(breaker_app, probe_env):
    results = Probes(probe_env, "--fail", "--calls", "10", count=4).run()

    assert sum(transitions(lines) == [("webhook", "closed", "open")] for _, lines in results) == 1
    assert sum(len(transitions(lines)) for _, lines in results) == 1
    executed = sum(summary["executed"] for summary, _ in results)
    assert THRESHOLD <= executed < 40  # calls already let through when it opened still finish
    assert sum(summary["short_circuited"] for summary, _ in results) == 40 - executed

    # Half-open: four processes at once, a slow trial; exactly one call is let through.
    racers = Probes(probe_env, "--sleep", "0.8", count=4)
    time.sleep(RESET_TIMEOUT + 0.1)
    results = racers.run()

    assert sum(summary["executed"] for summary, _ in results) == 1
    assert sorted(t for _, lines in results for t in transitions(lines)) == [
        ("webhook", "half_open", "closed"), ("webhook", "open", "half_open")]
    with breaker_app.app_context():
        assert breakers.get("webhook").status()["state"] == "closed"


def test_an_open_circuit_on_the_request_path_is_a_503_with_retry_after(breaker_app, server, client, capsys):
    server["mode"] = "fail"
    test_client = breaker_app.test_client()
    for _ in range(THRESHOLD):
        assert test_client.post("/test-only/notify").status_code == 500  # the failure itself is our 500
    log_lines(capsys)

    response = test_client.post("/test-only/notify")

    body = assert_problem(response, 503)
    assert body["type"] == "/problems/dependency-unavailable"
    assert 1 <= int(response.headers["Retry-After"]) <= RESET_TIMEOUT + 1
    assert "webhook" in body["detail"]
    assert len(server["calls"]) == THRESHOLD
    documented = client.get(body["type"]).get_json()
    assert (documented["status"], documented["title"]) == (503, body["title"])
    [line] = [line for line in log_lines(capsys) if line.get("reference_id") == body["reference_id"]]
    assert (line["message"], line["level"]) == ("request_rejected", "WARNING")  # expected: no stack trace


def test_the_webhook_job_meeting_an_open_circuit_is_retried_and_succeeds(ctx, server, run_worker):
    server["mode"] = "fail"
    user, cup = make_user(), make_product(stock=10)
    orders = [make_order(user, (cup, 1)) for _ in range(THRESHOLD + 1)]
    # Straight onto the default queue, with no retries of its own: only the breaker's deferral can bring it back.
    queue = Queue("default", connection=get_redis())
    jobs = [queue.enqueue(notify_order_placed, order["id"]) for order in orders]
    env = {**{name: str(value) for name, value in BREAKER_SETTINGS.items()}, "WEBHOOK_URL": server["url"]}

    first = run_worker(**env)

    statuses = [Job.fetch(job.id, connection=get_redis()).get_status() for job in jobs]
    assert statuses == ["failed"] * THRESHOLD + ["scheduled"]  # the last met the open circuit: deferred
    assert len(server["calls"]) == THRESHOLD
    registry = ScheduledJobRegistry("default", connection=get_redis())
    assert registry.get_job_ids() == [jobs[-1].id]
    assert ("webhook", "closed", "open") in transitions(json_log_lines(first.stdout))

    server["mode"] = "ok"
    due = registry.get_scheduled_time(jobs[-1].id)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)
    second = run_worker(**env)

    job = Job.fetch(jobs[-1].id, connection=get_redis())
    assert job.get_status() == "finished"
    assert job.return_value() == {"sent": True, "status": 204}
    assert server["calls"][-1]["order"]["id"] == orders[-1]["id"]
    assert transitions(json_log_lines(second.stdout)) == [
        ("webhook", "open", "half_open"), ("webhook", "half_open", "closed")]


def scrape_states(app):
    text = app.test_client().get("/metrics").get_data(as_text=True)
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "circuit_breaker_state":
                values[(sample.labels["breaker"], sample.labels["state"])] = sample.value
            elif sample.name == "circuit_breaker_short_circuited_total":
                values[("short_circuited", sample.labels["breaker"])] = sample.value
    return values


def test_the_metric_and_the_health_component_show_the_state(breaker_app, server):
    before = scrape_states(breaker_app)
    assert before[("webhook", "closed")] == 1 and before[("webhook", "open")] == 0
    assert before[("cache", "closed")] == 1
    server["mode"] = "fail"
    with breaker_app.app_context():
        for _ in range(THRESHOLD):
            with pytest.raises(OutboundError):
                webhook_call()
        with pytest.raises(breakers.CircuitOpen):
            webhook_call()

    after = scrape_states(breaker_app)
    assert [after[("webhook", state)] for state in ("closed", "open", "half_open")] == [0, 1, 0]
    assert after[("cache", "closed")] == 1
    assert after[("short_circuited", "webhook")] == before.get(("short_circuited", "webhook"), 0) + 1

    client = breaker_app.test_client()
    details = client.get("/health/details", headers={"Authorization": "Bearer operator-token"}).get_json()
    webhook = details["components"]["breaker_webhook"]
    assert (webhook["status"], webhook["critical"], webhook["details"]["state"]) == ("DEGRADED", False, "open")
    assert details["components"]["breaker_cache"]["status"] == "UP"
    assert details["status"] == "DEGRADED"
    assert client.get("/health/ready").status_code == 200  # an open breaker is not a reason to leave the pool

    time.sleep(RESET_TIMEOUT + 0.1)
    assert [scrape_states(breaker_app)[("webhook", s)] for s in ("closed", "open", "half_open")] == [0, 0, 1]
