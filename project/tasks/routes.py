"""Job status: ``/api/v1/jobs/{id}``, for the user who enqueued the job or an admin."""

import re

from flask.views import MethodView
from flask_smorest import Blueprint
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from project.errors import NotFound
from project.redis_client import get_redis
from project.security import monitoring
from project.security.auth import current_user, login_required
from project.tasks.schemas import JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/jobs", description="Background job status.")
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# RQ has more states than clients need; these are the four of the public contract.
PUBLIC_STATUS = {
    JobStatus.QUEUED: "queued", JobStatus.DEFERRED: "queued", JobStatus.SCHEDULED: "queued",
    JobStatus.STARTED: "started", JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed", JobStatus.STOPPED: "failed", JobStatus.CANCELED: "failed",
}


def describe(job):
    """The public view of an RQ job."""
    status = PUBLIC_STATUS.get(job.get_status(), "queued")
    error = None
    if status == "failed":
        latest = job.latest_result()
        # The last line of a traceback names the exception; the frames stay in the logs.
        error = latest.exc_string.strip().splitlines()[-1][:300] if latest and latest.exc_string else "failed"
    return {
        "job_id": job.id, "status": status,
        "result": job.return_value() if status == "finished" else None,
        "error": error, "reference_id": job.meta.get("reference_id") if status == "failed" else None,
        "enqueued_at": job.enqueued_at, "ended_at": job.ended_at,
    }


@blp.route("/<job_id>")
class JobStatusView(MethodView):
    """One job."""

    @login_required
    @blp.response(200, JobSchema)
    @blp.alt_response(404, description="No such job, or not yours.")
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, job_id):
        """Get a background job's status and result.

        `status` is `queued`, `started`, `finished` or `failed`; `result` once finished; `error` (one
        line, no stack trace) and `reference_id` once failed. Only whoever enqueued the job, or an
        admin, may see it; to anyone else it does not exist (404).
        """
        if not JOB_ID.match(job_id):
            raise NotFound("No such job.")
        try:
            job = Job.fetch(job_id, connection=get_redis())
        except NoSuchJobError:
            raise NotFound("No such job.") from None
        user = current_user()
        if not monitoring.authorize(user, user["role"] == "admin" or job.meta.get("user_id") == user["id"],
                                    resource=f"job/{job_id}", rule="owner_or_admin"):
            raise NotFound("No such job.")
        return describe(job)
