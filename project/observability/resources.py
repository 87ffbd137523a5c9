"""CPU, memory, file descriptors and threads of every gunicorn process, read from ``/proc`` at scrape time.

prometheus_client's process collector reports only the process that answers
the scrape, and nothing in multiprocess mode. This one finds the gunicorn
master (``STORE_GUNICORN_MASTER_PID``, set by ``gunicorn.conf.py``) and its
live workers and reports each, labelled ``pid`` and ``role``; a dead worker
simply stops appearing. Outside gunicorn it reports the current process
(``role="main"``). Linux only (``/proc``); elsewhere it reports nothing.
"""

import os
import resource
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = resource.getpagesize()


def _boot_time():
    try:
        for line in (PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


BOOT_TIME = _boot_time()


def processes():
    """``[(pid, role)]``: the gunicorn master and its workers, or this process alone."""
    master = int(os.environ.get("STORE_GUNICORN_MASTER_PID") or 0)
    if not master:
        return [(os.getpid(), "main")]
    try:
        children = (PROC / str(master) / "task" / str(master) / "children").read_text().split()
    except OSError:
        children = [str(os.getpid())] if os.getpid() != master else []
    return [(master, "master")] + [(int(pid), "worker") for pid in children]


def read(pid):
    """One process's figures from ``/proc/<pid>``, or None if it is gone."""
    base = PROC / str(pid)
    try:
        # The fields after the command name, which may itself hold spaces and parentheses.
        fields = (base / "stat").read_bytes().rsplit(b")", 1)[1].split()
        fds = len(os.listdir(base / "fd"))
        max_fds = None
        for line in (base / "limits").read_text().splitlines():
            if line.startswith("Max open files"):
                max_fds = float(line.split()[3])
    except (OSError, IndexError, ValueError):
        return None
    return {
        "cpu_seconds": (float(fields[11]) + float(fields[12])) / TICKS,
        "threads": float(fields[17]),
        "start_time": float(fields[19]) / TICKS + BOOT_TIME,
        "resident_memory": float(fields[21]) * PAGE_SIZE,
        "virtual_memory": float(fields[20]),
        "open_fds": float(fds),
        "max_fds": max_fds,
    }


METRICS = (  # (name, help, kind, field)
    ("process_cpu_seconds_total", "User and system CPU time, in seconds.", CounterMetricFamily, "cpu_seconds"),
    ("process_resident_memory_bytes", "Resident memory, in bytes.", GaugeMetricFamily, "resident_memory"),
    ("process_virtual_memory_bytes", "Virtual memory, in bytes.", GaugeMetricFamily, "virtual_memory"),
    ("process_open_fds", "Open file descriptors.", GaugeMetricFamily, "open_fds"),
    ("process_max_fds", "The limit on open file descriptors.", GaugeMetricFamily, "max_fds"),
    ("process_threads", "Threads.", GaugeMetricFamily, "threads"),
    ("process_start_time_seconds", "Start time, in seconds since the epoch.", GaugeMetricFamily, "start_time"),
)


def collect():
    """Metric families for every process, labelled ``pid`` and ``role``."""
    if not PROC.is_dir():
        return
    figures = [(pid, role, read(pid)) for pid, role in processes()]
    for name, help_text, kind, field in METRICS:
        family = kind(name.removesuffix("_total") if kind is CounterMetricFamily else name, help_text,
                      labels=("pid", "role"))
        for pid, role, values in figures:
            if values is not None and values[field] is not None:
                family.add_metric((str(pid), role), values[field])
        yield family
