"""A bounded threaded load on 127.0.0.1 that records what every request got.

Each logical request is retried (same method, body and headers, so the same
``Idempotency-Key``) when the connection was reset or refused, or the answer
was a 503 with ``Retry-After``: what a well-behaved client does. Resets are
counted apart from answers; a read that times out is a hang and is never
retried away.
"""

import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

RESETS = (ConnectionResetError, ConnectionRefusedError, BrokenPipeError, http.client.RemoteDisconnected,
          http.client.BadStatusLine)
PROBLEM_JSON = "application/problem+json"


@dataclass
class Answer:
    """One HTTP answer (``status`` 0 when there was none)."""

    status: int
    headers: dict
    body: object
    seconds: float


@dataclass
class Outcome:
    """A logical request: every attempt's answer or error, and what it finally got."""

    method: str
    path: str
    key: str | None = None
    attempts: list = field(default_factory=list)  # Answer, or the exception's class name
    final: Answer | None = None
    hung: bool = False

    @property
    def resets(self):
        """Attempts that ended in a connection reset (retryable)."""
        return sum(1 for attempt in self.attempts if isinstance(attempt, str) and attempt != "timeout")


def send(base_url, method, path, *, body=None, headers=None, timeout=30.0):
    """One request on a fresh connection; raises a RESETS error or ``TimeoutError``."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={
            "Connection": "close", **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        content_type = response.getheader("Content-Type", "")
        parsed = json.loads(raw) if "json" in content_type and raw else raw
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed,
                      time.monotonic() - started)
    finally:
        conn.close()


def retryable(answer):
    """A 503 that says when to come back."""
    return answer.status == 503 and "retry-after" in answer.headers


def call(urls, method, path, *, body=None, headers=None, key=None, deadline=60.0, timeout=30.0):
    """A logical request with retries (another instance each time) for up to ``deadline`` seconds."""
    outcome = Outcome(method, path, key)
    headers = {**(headers or {}), **({"Idempotency-Key": key} if key else {})}
    started, attempt = time.monotonic(), 0
    while True:
        url = urls[attempt % len(urls)] if attempt else random.choice(urls)  # noqa: S311 - load, not crypto
        attempt += 1
        try:
            answer = send(url, method, path, body=body, headers=headers, timeout=timeout)
        except TimeoutError:
            outcome.attempts.append("timeout")
            outcome.hung = True
            return outcome
        except RESETS as error:
            outcome.attempts.append(type(error).__name__)
        else:
            outcome.attempts.append(answer)
            if not retryable(answer):
                outcome.final = answer
                return outcome
            outcome.final = answer
        if time.monotonic() - started > deadline:
            return outcome
        time.sleep(min(0.05 * 2 ** min(attempt, 5), 1.0))


class Load:
    """``threads`` clients, each looping over ``scenario(urls)`` until ``stop()``; bounded by ``max_seconds``."""

    def __init__(self, urls, scenario, *, threads=4, max_seconds=120.0):
        self.urls, self.scenario, self.max_seconds = urls, scenario, max_seconds
        self.outcomes, self._lock, self._stop = [], threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        ends = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < ends:
            for outcome in self.scenario(self.urls):
                with self._lock:
                    self.outcomes.append(outcome)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Stop the clients and wait for their last requests (each bounded by its own deadline)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.max_seconds + 120)
            assert not thread.is_alive(), "a load thread did not finish"


def store_scenario(token, product_ids):
    """A customer's mix: browse products, read one, place an order (with an Idempotency-Key), read readiness."""
    auth = {"Authorization": f"Bearer {token}"}

    def scenario(urls):
        product = random.choice(product_ids)  # noqa: S311
        yield call(urls, "GET", "/api/v1/products?limit=5", headers=auth)
        yield call(urls, "GET", f"/api/v1/products/{product}", headers=auth)
        yield call(urls, "POST", "/api/v1/orders", headers=auth, key=str(uuid.uuid4()),
                   body={"items": [{"product_id": product, "quantity": 1}]})

    return scenario


def problems_in(outcomes):
    """Every answer that breaks the contract: a 5xx or 4xx that is not problem+json, or a 503 without Retry-After."""
    bad = []
    for outcome in outcomes:
        for answer in outcome.attempts:
            if not isinstance(answer, Answer) or answer.status < 400:
                continue
            if PROBLEM_JSON not in answer.headers.get("content-type", ""):
                bad.append((outcome.method, outcome.path, answer.status, answer.body))
            elif answer.status == 503 and "retry-after" not in answer.headers:
                bad.append((outcome.method, outcome.path, answer.status, "503 without Retry-After"))
    return bad
