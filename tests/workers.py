"""A real ``flask rq worker`` process (not burst) for tests that need the scheduler, signals or kills."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.logs import json_log_lines

ROOT = Path(__file__).resolve().parents[1]
# Short windows: heartbeats, abandoned-job detection and retries in seconds, not minutes.
# No periodic cache warming unless a test asks for it (its job would run amid theirs).
FAST = {"WORKER_MAINTENANCE_INTERVAL": "1", "WORKER_JOB_MONITORING_INTERVAL": "1",
        "WORKER_HEARTBEAT_GRACE_SECONDS": "1", "CACHE_WARM_SCHEDULE_SECONDS": "0"}


class WorkerProcess:
    """``flask --app wsgi rq worker`` with its JSON log lines in a file."""

    def __init__(self, env, log_file, **settings):
        self.log_file = log_file
        self._output = log_file.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "flask", "--app", "wsgi", "rq", "worker"],
            env={**env, **FAST, **settings}, stdout=self._output, stderr=subprocess.STDOUT, cwd=ROOT)

    @property
    def pid(self):
        """The worker's (main process') pid."""
        return self.process.pid

    def lines(self):
        """The JSON log lines written so far."""
        return json_log_lines(self.log_file.read_text())

    def events(self, event):
        """The log lines of one event."""
        return [line for line in self.lines() if line.get("event") == event or line.get("message") == event]

    def kill(self):
        """SIGKILL: no cleanup at all, like the OOM killer or a dyno's hard stop."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout=30):
        """SIGTERM (warm shutdown) and wait; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()
        return self.process.returncode


def wait_for(condition, timeout=30, interval=0.1):
    """Poll ``condition()`` until it is truthy (return it) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        time.sleep(interval)
