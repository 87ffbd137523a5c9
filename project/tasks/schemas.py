"""Schemas of job status answers."""

from marshmallow import Schema, fields


class JobSchema(Schema):
    """A job's state: ``queued``, ``started``, ``finished`` or ``failed``."""

    job_id = fields.String(metadata={"example": "5f0c1d6e-9a43-4bb5-8d1f-0e0c5f1d2a77"})
    status = fields.String(metadata={"example": "queued"})
    result = fields.Raw(allow_none=True, metadata={"description": "The job's result once finished.", "example": {
        "kind": "sales", "since": "2026-01-01", "until": None, "generated_at": "2026-12-03T10:00:02+00:00",
        "orders": 12, "units": 30, "revenue": "240.50",
        "top_products": [{"product_id": 1, "name": "Espresso cup", "units": 8, "revenue": "79.92"}]}})
    error = fields.String(allow_none=True, metadata={"description": "What went wrong, once failed.",
                                                     "example": None})
    reference_id = fields.String(allow_none=True, metadata={"description": "Finds the failure in the logs.",
                                                            "example": None})
    enqueued_at = fields.DateTime(allow_none=True, metadata={"example": "2026-12-03T10:00:00+00:00"})
    ended_at = fields.DateTime(allow_none=True, metadata={"example": "2026-12-03T10:00:02+00:00"})
