"""Accounts and tokens: ``/api/v1/auth/register``, ``/api/v1/auth/token``."""

from flask.views import MethodView
from flask_smorest import Blueprint

from project.errors import AuthenticationRequired, Conflict
from project.observability import metrics
from project.security import auth, signin
from project.security.passwords import hash_password, needs_rehash, verify_password
from project.store.users import repository
from project.store.users.schemas import CredentialsSchema, RegisterSchema, TokenSchema, UserSchema

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Accounts and bearer tokens.")


@blp.route("/register")
class Register(MethodView):
    """Create a customer account."""

    @blp.arguments(RegisterSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, description="An account with this email exists.")
    def post(self, credentials):
        """Create a customer account (free tier).

        The password needs `PASSWORD_MIN_LENGTH` (10) to 128 characters and is stored only as an
        Argon2id hash. Limited to 10 an hour per IP (`register-ip`) and 5 an hour per email
        (`register-account`) on top of the caller's tier; 409 when the email is taken.
        """
        try:
            user = repository.create_user(email=credentials["email"],
                                          password_hash=hash_password(credentials["password"]))
        except repository.DuplicateEmail:
            raise Conflict("An account with this email already exists.") from None
        metrics.REGISTRATIONS.inc()
        return user


@blp.route("/token")
class Token(MethodView):
    """Sign in and out."""

    @blp.arguments(CredentialsSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="Wrong email or password.")
    @blp.alt_response(429, description="Too many failed sign-ins for this account from this address.")
    def post(self, credentials):
        """Sign in: exchange email and password for a bearer token.

        The token is valid for `expires_in` seconds (`TOKEN_TTL_SECONDS`); send it as
        `Authorization: Bearer <token>`. A wrong email or password is one 401 for both (an unknown
        email costs the same time). After `SECURITY_LOCK_THRESHOLD` failures this account is locked
        from this address (429 `sign-in-locked`), and repeated failures block the address (403
        `ip-blocked`). Limited to 30 a minute per IP (`sign-in-ip`) and 20 per email (`sign-in-account`).
        """
        user = repository.get_credentials(email=credentials["email"])
        signin.check_allowed(credentials["email"], user)  # 429 for a locked (account, IP) pair
        if not verify_password(user and user["password_hash"], credentials["password"]):
            metrics.SIGNINS.labels("failure").inc()
            signin.failed(credentials["email"], user)
            raise AuthenticationRequired("Wrong email or password.", error="invalid_grant")
        if needs_rehash(user["password_hash"]):
            repository.update_password_hash(user_id=user["id"], password_hash=hash_password(credentials["password"]))
        token, expires_in = auth.issue_token(user_id=user["id"])
        metrics.SIGNINS.labels("success").inc()
        signin.succeeded(credentials["email"], user)
        return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}

    @auth.login_required
    @blp.response(204)
    @blp.doc(security=[{"bearerAuth": []}])
    def delete(self):
        """Sign out: revoke the token sent with this request.

        Later requests with it get 401.
        """
        auth.revoke_token(auth.bearer_token())
