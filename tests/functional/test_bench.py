"""perf/bench.py: its many-client load really comes from many addresses, the floor app really limits
and reads the cache, and its table's ratios are right."""

import argparse
import http.server
import importlib
import re
import sys
import threading

import pytest

from perf import bench


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 200 and keeps each request's X-Forwarded-For."""

    seen = []

    def do_GET(self):  # noqa: N802 - http.server's name
        self.seen.append(self.headers.get("X-Forwarded-For"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    """A local HTTP server recording X-Forwarded-For; yields (url, the recorded values)."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", _Recorder.seen
    server.shutdown()
    server.server_close()


def test_the_clients_script_sends_each_request_from_the_next_address(recorder):
    url, seen = recorder
    rps, _, errors = bench.wrk(url, seconds=1, connections=2, script=bench.CLIENTS_SCRIPT)

    assert rps > 0 and errors == 0 and len(seen) > 50
    assert all(re.fullmatch(r"10\.0\.\d{1,2}\.\d{1,3}", value) for value in seen)
    # Consecutive requests come from different addresses, so none reaches its limit at the bench's rates.
    assert len(set(seen)) > 0.9 * min(len(seen), 5000)


def test_a_broken_wrk_script_fails_the_bench_instead_of_being_ignored(recorder, tmp_path):
    url, _ = recorder
    broken = tmp_path / "broken.lua"
    broken.write_text("local i = 7 // 2\n")  # Lua 5.3 syntax; wrk's LuaJIT refuses it, then runs on without it

    with pytest.raises(SystemExit, match="wrk"):
        bench.wrk(url, seconds=1, connections=1, script=broken)


@pytest.fixture
def floor_app(services, monkeypatch):
    """perf/floor_app.py on the test Valkey, with an anonymous limit of 3 a minute."""
    monkeypatch.setenv("REDIS_URL", services["REDIS_URL"])
    monkeypatch.setenv("RATELIMIT_ANONYMOUS", "3/minute")
    module = importlib.reload(sys.modules["perf.floor_app"]) if "perf.floor_app" in sys.modules \
        else importlib.import_module("perf.floor_app")
    return module.app


def test_the_floor_answers_from_the_cache_and_enforces_the_limit_per_client(floor_app):
    client = floor_app.test_client()
    headers = {"X-Forwarded-For": "10.0.0.1"}

    answers = [client.get("/api/v1/products/1", headers=headers) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[0].get_json()["name"] == "Espresso cup" and answers[0].headers["ETag"] == '"etag"'
    assert client.get("/api/v1/products/1", headers={"X-Forwarded-For": "10.0.0.2"}).status_code == 200


def test_the_table_reports_medians_and_ratios_against_bare_flask():
    # (requests/s, p99 ms, non-2xx, CPU us: gunicorn, Valkey, wrk) per round
    rounds = {"bare": [(5000, 2.0, 0, 300, 0, 80), (4000, 3.0, 0, 320, 0, 90), (4500, 2.5, 0, 310, 0, 85)],
              "store": [(1500, 8.0, 0, 900, 100, 85), (1000, 9.0, 1, 950, 110, 90), (1600, 7.5, 0, 880, 95, 80)],
              "floor": [(2250, 5.0, 0, 500, 90, 80), (2000, 6.0, 0, 520, 92, 82), (2400, 4.0, 0, 510, 91, 81)]}
    args = argparse.Namespace(rounds=3, seconds=5, connections=8, workers=2, one_client=False)

    table = bench.report(rounds, args)

    assert "| bare Flask | 4500 | 2.50 | 0 | 310 | 0 | 85 |" in table
    assert "| store, every feature on (cached product read) | 1500 | 8.00 | 1 | 900 | 100 | 85 |" in table
    assert "**0.33x** throughput | **3.20x** p99" in table
    assert "| floor vs bare | 0.50x | 2.00x |" in table
    assert "5,000 clients, production limits" in table
