"""gunicorn server hooks: Prometheus multiprocess files, worker exits, and draining on SIGTERM.

``prepare()`` runs when ``gunicorn.conf.py`` is read, in the master, before any
worker exists and before prometheus_client is imported: it chooses the
multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``, or a fresh temporary
one) and tells the workers where the drain flag lives.

Draining: on the first SIGTERM the master creates the drain flag, so
``/health/ready`` answers 503 in every worker, keeps serving for
``DRAIN_SECONDS`` (time for a load balancer or Kubernetes to stop sending
traffic), then stops gracefully: in-flight requests finish within
``graceful_timeout``. A second SIGTERM, SIGINT or SIGQUIT stops at once.
"""

import functools
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DRAIN_FLAG_ENV = "STORE_DRAIN_FLAG"
MASTER_PID_ENV = "STORE_GUNICORN_MASTER_PID"
STARTED_AT_ENV = "STORE_STARTED_AT"


def prepare():
    """Choose the multiprocess directory and the drain flag; return the directory."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        directory = tempfile.mkdtemp(prefix="store-metrics-")
        os.environ["STORE_OWN_MULTIPROC_DIR"] = "1"  # ours to delete on exit
    os.environ[MULTIPROC_ENV] = directory
    os.environ[DRAIN_FLAG_ENV] = str(Path(directory) / "draining")
    return directory


def on_starting(server):
    """Master, before the workers: empty the metrics directory, note who the master is."""
    directory = Path(os.environ[MULTIPROC_ENV])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():  # samples of a previous run would be counted again
        if stale.is_file():
            stale.unlink()
    os.environ[MASTER_PID_ENV] = str(os.getpid())
    os.environ[STARTED_AT_ENV] = str(time.time())


def drain_on_sigterm(drain_seconds):
    """A ``when_ready`` hook: the first SIGTERM drains for ``drain_seconds`` before stopping."""
    return functools.partial(_install_drain, drain_seconds=drain_seconds)


def _install_drain(server, *, drain_seconds):
    stop = server.handle_term

    def handle_term():
        flag = Path(os.environ[DRAIN_FLAG_ENV])
        if drain_seconds <= 0 or flag.exists():
            stop()  # raises StopIteration: gunicorn's graceful stop
        flag.touch()
        server.log.info("draining: /health/ready answers 503; stopping in %ss", drain_seconds)
        timer = threading.Timer(drain_seconds, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    server.handle_term = handle_term


def child_exit(server, worker):
    """Master: a worker exited; its live gauges must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Master, stopping: remove the drain flag, and the metrics directory if we made it."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and os.environ.get("STORE_OWN_MULTIPROC_DIR"):
        shutil.rmtree(directory, ignore_errors=True)
    else:
        Path(os.environ[DRAIN_FLAG_ENV]).unlink(missing_ok=True)
