"""The RQ worker class: each job runs with its enqueuer's correlation bound.

A job enqueued from a request carries that request's ID and trace context in
its meta; while the job runs, they (and the job ID and queue) are bound to
the log context, so one request ID finds the request's lines and its job's,
and the job's outbound calls send them on. A failure is logged once, with
the stack trace and a reference ID that is also kept on the job.
"""

from rq import Worker
from rq.job_lifecycle import call_exception_handlers

from project.observability import context
from project.observability.correlation import new_request_id, parse_traceparent
from project.observability.errors import new_reference_id
from project.observability.logging import get_logger

log = get_logger(__name__)


class ContextWorker(Worker):
    """An RQ ``Worker`` (one forked work horse per job) that binds job context to logs."""

    def perform_job(self, job, queue, *args, **kwargs):
        """Run the job inside its enqueuer's request ID and trace, plus its own ID and queue."""
        meta = job.meta or {}
        trace = parse_traceparent(meta.get("traceparent"), meta.get("tracestate"))
        with context.bind(request_id=meta.get("request_id") or new_request_id(), trace=trace,
                          trace_id=trace.trace_id, span_id=trace.span_id, job_id=job.id, queue=queue.name):
            return super().perform_job(job, queue, *args, **kwargs)

    def handle_exception(self, job, *exc_info):
        """Log the failure once, structured, with a reference ID kept in the job's meta."""
        reference_id = new_reference_id()
        log.error("job_failed", func=_func_name(job), reference_id=reference_id, exc_info=exc_info)
        job.meta["reference_id"] = reference_id
        job.save_meta()
        call_exception_handlers(self._exc_handlers, job, *exc_info)


def _func_name(job):
    try:
        return job.func_name
    except Exception:  # an undeserialisable job still gets its failure logged
        return None
