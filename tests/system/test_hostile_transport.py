"""Hostile transport: oversized requests, slow clients and idle connections.

gunicorn (``gunicorn.conf.py``) bounds the request line and headers and
answers 400 itself; Flask answers 413 problem+json beyond
``MAX_CONTENT_LENGTH``. A sync worker reads one client at a time: a client
that sends a byte a second, or nothing, holds a worker until the master
kills it after ``GUNICORN_TIMEOUT`` (5 s here) and starts another. These tests
pin that bound and that the other instance is unaffected; the deployment
answer is a buffering proxy in front (README, "Failure model").
"""

import math
import select
import socket
import threading
import time

from tests.system.cluster import GUNICORN, WEB_WORKERS
from tests.system.load import send

TIMEOUT = int(GUNICORN["GUNICORN_TIMEOUT"])


def raw(url, data, *, timeout=15.0):
    """Send ``data`` on a fresh connection (ignoring a reset mid-send); return the status line's code."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything: read what it said
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ")[1]) if head.startswith("HTTP/") else 0, head


def test_oversized_headers_and_request_lines_get_a_400_not_a_hang(cluster):
    url = cluster.urls[0]
    huge_field = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    many_fields = b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(
        b"X-F%d: 1\r\n" % index for index in range(150)) + b"\r\n"
    long_line = b"GET /api/v1/products?q=" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    for request in (huge_field, many_fields, long_line):
        status, head = raw(url, request)
        assert status in (400, 414, 431), head


def test_a_body_over_max_content_length_is_refused_with_413_problem_json(cluster):
    body = b'{"email": "' + b"a" * (1024 * 1024) + b'"}'
    request = (b"POST /api/v1/auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    status, head = raw(cluster.urls[1], request)
    assert status == 413 and "application/problem+json" in head, head
    chunked = (b"POST /api/v1/auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in [b"a" * 16384] * 8) + b"0\r\n\r\n")
    status, head = raw(cluster.urls[1], chunked)
    assert status == 413 and "application/problem+json" in head, head


class Trickle(threading.Thread):
    """A client that opens a request and sends one more header byte a second (``0`` bytes: idle)."""

    def __init__(self, url, *, bytes_per_second=1, seconds=60):
        super().__init__(daemon=True)
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.bytes_per_second, self.seconds, self.closed_after = bytes_per_second, seconds, None
        self.stop = threading.Event()

    def run(self):
        started = time.monotonic()
        if self.bytes_per_second:
            self.sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        while not self.stop.is_set() and time.monotonic() - started < self.seconds:
            try:
                if self.bytes_per_second:
                    self.sock.sendall(b"a" * self.bytes_per_second)
                readable, _, _ = select.select([self.sock], [], [], 1.0)
                if readable and not self.sock.recv(1024):
                    break  # the server closed it
            except OSError:
                break
        self.closed_after = time.monotonic() - started
        self.sock.close()


def hostile_clients(url, count, **kwargs):
    clients = [Trickle(url, **kwargs) for _ in range(count)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # the workers have accepted them
    return clients


def answered_within(url, path="/health"):
    """Seconds until ``url`` answers ``path`` (fails on no answer within the client timeout)."""
    started = time.monotonic()
    assert send(url, "GET", path, timeout=60).status == 200
    return time.monotonic() - started


def test_slow_clients_hold_a_worker_at_most_gunicorn_timeout_and_the_other_instance_is_unaffected(cluster):
    slow, other = cluster.urls
    clients = hostile_clients(slow, WEB_WORKERS)  # one per worker: the worst a handful of sockets can do
    try:
        assert answered_within(other) < 2  # the other instance is untouched
        waited = answered_within(slow)
        print(f"slow clients: a normal request waited {waited:.1f} s")
        assert waited < TIMEOUT * 2 + 5  # the master kills a silent worker after GUNICORN_TIMEOUT
    finally:
        for client in clients:
            client.stop.set()
            client.join(10)
    assert all(client.closed_after is not None and client.closed_after < TIMEOUT * 2 + 5 for client in clients)
    cluster.wait_ready(30)


def test_idle_connections_are_dropped_and_other_clients_answered_within_a_bound(cluster):
    idle, other = cluster.urls
    count = 2 * WEB_WORKERS
    clients = hostile_clients(idle, count, bytes_per_second=0)
    try:
        assert answered_within(other) < 2
        waited = answered_within(idle, "/api/v1/products")
        print(f"{count} idle connections: a normal request waited {waited:.1f} s")
        assert waited < (math.ceil(count / WEB_WORKERS) + 1) * TIMEOUT + 5
    finally:
        for client in clients:
            client.stop.set()
            client.join(10)
    cluster.wait_ready(30)
