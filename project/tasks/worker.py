"""The RQ worker: job context on every log line, execution tracking, bounded abandoned-job detection.

A job enqueued from a request carries that request's ID and trace context in
its meta; while the job runs, they (and the job ID and queue) are bound to
the log context, so one request ID finds the request's lines and its job's,
and the job's outbound calls send them on. Starts, finishes and failures are
logged and counted (``project.tasks.tracking``); a failure is logged once,
with the stack trace and a reference ID that is also kept on the job.

A job whose worker is killed (SIGKILL, or a dyno restart) stays in RQ's
started registry until its heartbeat runs out: at most
``WORKER_JOB_MONITORING_INTERVAL + WORKER_HEARTBEAT_GRACE_SECONDS`` after
the last beat (RQ adds a fixed 60 s; we make it a setting). Every
``WORKER_MAINTENANCE_INTERVAL`` seconds each worker cleans its queues'
registries, which retries such an abandoned job or dead-letters it. SIGTERM
is RQ's warm shutdown: the current job finishes, then the worker exits.
"""

import time

from flask import current_app
from rq import Worker
from rq.job_lifecycle import call_exception_handlers

from project.observability.logging import get_logger, redact_text
from project.tasks import schedule, tracking

log = get_logger(__name__)


class ContextWorker(Worker):
    """An RQ ``Worker`` (one forked work horse per job) that binds job context and tracks executions."""

    heartbeat_grace = 60  # RQ's own margin; the CLI sets WORKER_HEARTBEAT_GRACE_SECONDS
    burst = False

    def work(self, burst=False, *args, **kwargs):
        """RQ's work loop; remembers ``burst`` (a burst worker drains queues and schedules nothing)."""
        self.burst = burst
        return super().work(burst, *args, **kwargs)

    def get_heartbeat_ttl(self, job, working_time=0.0):
        """How long the job's started-registry entry lives without a heartbeat (RQ's, with our grace)."""
        if job.timeout and job.timeout > 0:
            return int(max(min(job.timeout - working_time, self.job_monitoring_interval), 1)) + self.heartbeat_grace
        return self.job_monitoring_interval + self.heartbeat_grace

    def perform_job(self, job, queue, *args, **kwargs):
        """Run the job (in the work horse) inside its enqueuer's context; log and count it."""
        with tracking.job_context(job, queue.name):
            tracking.job_started(job, queue.name)
            self._started = time.perf_counter()
            succeeded = super().perform_job(job, queue, *args, **kwargs)
            if succeeded:
                tracking.job_succeeded(job, time.perf_counter() - self._started)
            return succeeded

    def handle_exception(self, job, *exc_info):
        """The job raised (or timed out): log once with the stack trace, retry or dead-letter it."""
        kind, error, _ = exc_info
        started = getattr(self, "_started", None)
        tracking.job_failed(job, getattr(kind, "__name__", str(kind)), error,
                            duration=time.perf_counter() - started if started else None, exc_info=exc_info)
        call_exception_handlers(self._exc_handlers, job, *exc_info)

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="", execution=None):
        """RQ's failure handling, with secrets masked in the traceback it keeps (rq-dashboard shows it)."""
        super().handle_job_failure(job, queue, started_job_registry, redact_text(exc_string), execution)

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        """The work horse died (OOM killer, SIGKILL) under a live worker: the same retry or dead letter."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        with tracking.job_context(job, job.origin):
            tracking.job_failed(job, "WorkHorseKilled", f"the work horse ended with wait status {ret_val}",
                                duration=tracking.duration_of(job))

    def run_maintenance_tasks(self):
        """RQ's registry cleaning (finds abandoned jobs), then periodic jobs that are due."""
        super().run_maintenance_tasks()
        if not self.burst:
            try:
                schedule.enqueue_due(self.connection, current_app.config)
            except Exception:  # noqa: BLE001 - a scheduling hiccup must not stop the worker
                log.error("schedule_failed", exc_info=True)


def run(queue_names, *, burst=False, with_scheduler=True):
    """Run a worker on ``queue_names`` (in priority order), with the scheduler, until SIGTERM."""
    from project.redis_client import get_redis

    config = current_app.config
    maintenance = config["WORKER_MAINTENANCE_INTERVAL"]
    worker = ContextWorker(
        queue_names, connection=get_redis(),
        job_monitoring_interval=config["WORKER_JOB_MONITORING_INTERVAL"],
        maintenance_interval=maintenance,
        # An idle worker blocks on the queues for worker_ttl - 15 s: keep that to one maintenance interval.
        worker_ttl=maintenance + 15,
    )
    worker.heartbeat_grace = config["WORKER_HEARTBEAT_GRACE_SECONDS"]
    log.info("worker_starting", queues=list(queue_names), burst=burst, maintenance_interval=maintenance)
    worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=config["LOG_LEVEL"])
