"""Health endpoints. ``/health`` is cheap: it touches no dependency."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

blp = Blueprint("health", __name__, url_prefix="/health", description="Probes for load balancers and orchestrators.")


class HealthSchema(Schema):
    """``{"status": "UP"}``."""

    status = fields.String(metadata={"example": "UP"})


@blp.route("")
class Health(MethodView):
    """Basic health."""

    @blp.response(200, HealthSchema)
    def get(self):
        """The process answers HTTP; no dependency is checked."""
        return {"status": "UP"}


def init_app(app):
    """Serve the health endpoints at the root, outside ``/api/v1``."""
    from project.extensions import api

    api.register_blueprint(blp)
