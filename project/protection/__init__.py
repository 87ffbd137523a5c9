"""Protection of the service and its dependencies: rate limits (ratelimits.py) and circuit breakers."""
