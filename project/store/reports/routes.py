"""Reports: ``POST /api/v1/reports`` enqueues a sales report job (admin)."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema

from project import tasks
from project.observability import metrics
from project.security.auth import admin_required, current_user
from project.store.reports.jobs import generate_sales_report
from project.tasks.routes import describe

blp = Blueprint("reports", __name__, url_prefix="/reports", description="Sales reports, computed in the background.")


class ReportRequestSchema(Schema):
    """An optional date range (inclusive)."""

    since = fields.Date(metadata={"example": "2026-01-01"})
    until = fields.Date(metadata={"example": "2026-12-31"})

    @validates_schema
    def validate_range(self, data, **kwargs):
        """``since`` must not be after ``until``."""
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("since must not be after until.", field_name="since")


class JobAcceptedSchema(Schema):
    """``{"job_id", "status"}``; poll ``/api/v1/jobs/{job_id}``."""

    job_id = fields.String(metadata={"example": "5f0c1d6e-9a43-4bb5-8d1f-0e0c5f1d2a77"})
    status = fields.String(metadata={"example": "queued"})


@blp.route("")
class Reports(MethodView):
    """Report requests."""

    @admin_required
    @blp.arguments(ReportRequestSchema, required=False)
    @blp.response(202, JobAcceptedSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, params):
        """Request a sales report, computed in the background.

        Optional `since` and `until` dates (inclusive). Answers 202 at once with the job's ID; poll
        `GET /api/v1/jobs/{job_id}` for the result. Limited to 10 a minute per caller (`reports`).
        """
        job = tasks.enqueue(
            generate_sales_report,
            since=params["since"].isoformat() if params.get("since") else None,
            until=params["until"].isoformat() if params.get("until") else None,
            user_id=current_user()["id"],
            timeout=current_app.config["REPORT_JOB_TIMEOUT"],
        )
        metrics.REPORTS_REQUESTED.inc()
        return describe(job)
