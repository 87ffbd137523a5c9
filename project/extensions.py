"""Extension objects, created unbound; ``create_app`` binds them to an app."""

from flask_smorest import Api

api = Api()
