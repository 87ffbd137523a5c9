"""Schemas of job status answers."""

from marshmallow import Schema, fields


class JobSchema(Schema):
    """A job's state: ``queued``, ``started``, ``finished`` or ``failed``."""

    job_id = fields.String(metadata={"example": "5f0c1d6e-9a43-4bb5-8d1f-0e0c5f1d2a77"})
    status = fields.String(metadata={"example": "queued"})
    result = fields.Raw(allow_none=True, metadata={"description": "The job's result once finished."})
    error = fields.String(allow_none=True, metadata={"description": "What went wrong, once failed."})
    reference_id = fields.String(allow_none=True, metadata={"description": "Finds the failure in the logs."})
    enqueued_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
