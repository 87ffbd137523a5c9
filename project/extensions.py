"""Extension objects, created unbound; ``create_app`` binds them to an app."""

from flask_caching import Cache
from flask_smorest import Api

from project.protection.limiter import AppLimiter

api = Api()
limiter = AppLimiter()  # its policies read the current app's settings on each request
cache = Cache(with_jinja2_ext=False)  # bound by project.caching to the cache's Redis client
