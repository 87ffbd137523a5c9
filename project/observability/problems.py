"""The catalogue of problem types (RFC 9457), each documented at ``/problems/<slug>``.

An error's ``type`` is ``/problems/<slug>``: a client can branch on it, and
a person can open it to read what it means and what to do.
"""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from project.errors import NotFound

PROBLEMS = {
    "bad-request": (400, "Bad request", "The request could not be read, e.g. its JSON is malformed. Fix and resend."),
    "invalid-idempotency-key": (400, "Invalid idempotency key",
                                "The Idempotency-Key header must be 1-255 printable ASCII characters."),
    "authentication-required": (401, "Authentication required",
                                "Send a valid bearer token: Authorization: Bearer <token> (POST /api/v1/auth/token)."),
    "forbidden": (403, "Forbidden", "You are signed in but your role may not do this."),
    "ip-blocked": (403, "Client address blocked",
                   "Too many failed sign-ins came from your address; it is blocked for Retry-After seconds."),
    "not-found": (404, "Not found", "No such resource, or it is not yours to see."),
    "method-not-allowed": (405, "Method not allowed", "This path does not take this method; see the Allow header."),
    "conflict": (409, "Conflict", "The request conflicts with the resource's current state, e.g. a duplicate."),
    "insufficient-stock": (409, "Insufficient stock", "Some product has less stock than ordered; nothing was taken."),
    "idempotency-key-in-flight": (409, "Idempotency key in flight",
                                  "The first request with this Idempotency-Key is still being processed; retry "
                                  "after Retry-After seconds to get its answer."),
    "payload-too-large": (413, "Payload too large", "The body is over the size limit (MAX_CONTENT_LENGTH)."),
    "unsupported-media-type": (415, "Unsupported media type", "Send the body as JSON: Content-Type: application/json."),
    "validation-error": (422, "Validation failed",
                         "Some fields are invalid; `errors` lists each with a JSON pointer and a message."),
    "idempotency-key-mismatch": (422, "Idempotency key reused",
                                 "This Idempotency-Key was used with a different request body; send a new key "
                                 "for a new request."),
    "quota-exceeded": (429, "Too many requests", "A rate limit was exceeded; retry after Retry-After seconds."),
    "sign-in-locked": (429, "Sign-in locked",
                       "Too many failed sign-ins for this account from your address; retry after Retry-After "
                       "seconds, or sign in from elsewhere."),
    "internal-error": (500, "Internal server error",
                       "Our fault. Quote the reference_id to support; it finds the error in our logs."),
    "service-unavailable": (503, "Service unavailable",
                            "A dependency is down or overloaded; retry after Retry-After seconds."),
    "dependency-unavailable": (503, "Dependency unavailable",
                               "A service this request needs keeps failing, so calls to it are paused (its circuit "
                               "breaker is open); retry after Retry-After seconds, when a trial call is let through."),
}
SLUG_BY_STATUS = {status: slug for slug, (status, _, _) in reversed(PROBLEMS.items())}

blp = Blueprint("problems", __name__, url_prefix="/problems", description="What each error type means.")


class ProblemTypeSchema(Schema):
    """A problem type's documentation."""

    type = fields.String(metadata={"example": "/problems/validation-error"})
    title = fields.String(metadata={"example": "Validation failed"})
    status = fields.Integer(metadata={"example": 422})
    description = fields.String(metadata={"example": "Some fields are invalid; `errors` lists each with a JSON "
                                                     "pointer and a message."})


def describe(slug):
    """The documentation of one problem type."""
    status, title, description = PROBLEMS[slug]
    return {"type": f"/problems/{slug}", "title": title, "status": status, "description": description}


@blp.route("")
class ProblemTypes(MethodView):
    """Every problem type."""

    @blp.response(200, ProblemTypeSchema(many=True))
    def get(self):
        """List the problem types this API answers with.

        Each error's `type` is `/problems/<slug>`: branch on it in code, open it to read what it means.
        """
        return [describe(slug) for slug in PROBLEMS]


@blp.route("/<slug>")
class ProblemType(MethodView):
    """One problem type."""

    @blp.response(200, ProblemTypeSchema)
    def get(self, slug):
        """Explain one problem type.

        Its title, status and what to do about it; 404 for a slug that is not one.
        """
        if slug not in PROBLEMS:
            raise NotFound("No such problem type.")
        return describe(slug)


def init_app(app):
    """Serve the catalogue at ``/problems``."""
    from project.extensions import api

    api.register_blueprint(blp)
