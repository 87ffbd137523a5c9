"""Domain errors. Code raises these; the one error handler turns them into responses."""


class AppError(Exception):
    """An error the client can act on: an HTTP status and a detail.

    ``slug`` names the problem type (``/problems/<slug>``, titled in
    ``project.observability.problems``); ``errors`` is a list of
    ``{"field": JSON pointer, "message"}``; ``headers`` go on the response.
    """

    status = 400
    slug = "bad-request"

    def __init__(self, detail, *, errors=None, headers=None):
        """Keep the detail, field errors and extra headers for the handler."""
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class ValidationFailed(AppError):
    """The request is well-formed but a field's value is not acceptable."""

    status = 422
    slug = "validation-error"


class AuthenticationRequired(AppError):
    """No valid credential was presented."""

    status = 401
    slug = "authentication-required"

    def __init__(self, detail, *, error="invalid_token"):
        """Add the RFC 6750 ``WWW-Authenticate`` challenge."""
        super().__init__(detail, headers={"WWW-Authenticate": f'Bearer error="{error}"'})


class PermissionDenied(AppError):
    """The caller is known but may not do this."""

    status = 403
    slug = "forbidden"


class IpBlocked(PermissionDenied):
    """The client's address is blocked after repeated failed sign-ins."""

    slug = "ip-blocked"

    def __init__(self, detail, *, retry_after):
        """Tell the client when the block ends."""
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class SignInLocked(AppError):
    """Sign-in for this account from this address is locked for a while (other addresses are not)."""

    status = 429
    slug = "sign-in-locked"

    def __init__(self, detail, *, retry_after):
        """Tell the client when the lock ends."""
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class NotFound(AppError):
    """The resource does not exist, or the caller may not know it does."""

    status = 404
    slug = "not-found"


class Conflict(AppError):
    """The request conflicts with the resource's current state."""

    status = 409
    slug = "conflict"


class InsufficientStock(Conflict):
    """An order asks for more of a product than is in stock."""

    slug = "insufficient-stock"


class InvalidIdempotencyKey(AppError):
    """An ``Idempotency-Key`` header that is not 1-255 printable ASCII characters."""

    slug = "invalid-idempotency-key"


class IdempotencyKeyInFlight(Conflict):
    """The first request with this ``Idempotency-Key`` is still being processed."""

    slug = "idempotency-key-in-flight"

    def __init__(self, detail, *, retry_after=1):
        """Tell the client when to retry (by then the first answer is usually ready to replay)."""
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class IdempotencyKeyMismatch(AppError):
    """An ``Idempotency-Key`` reused with a different request body."""

    status = 422
    slug = "idempotency-key-mismatch"


class ServiceUnavailable(AppError):
    """A dependency is down; the client may retry later."""

    status = 503
    slug = "service-unavailable"

    def __init__(self, detail, *, retry_after=5):
        """Tell the client when to retry."""
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
