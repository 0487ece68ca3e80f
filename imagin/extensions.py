"""One instance of each Flask extension; create_app() calls their init_app()."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_compress import Compress as _Compress
from flask_login import LoginManager as _LoginManager
from flask_login.utils import _create_identifier
from flask_wtf.csrf import CSRFProtect
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter

# Session identifiers kept per process; emptied when it grows past this.
MAX_CLIENTS = 10_000


class LoginManager(_LoginManager):
    """Flask-Login's, hashing each client's address and user agent once per process.

    Its session protection compares the session's identifier, a SHA-512 of the client's
    address and user agent, with the request's on every request: computing it was
    12 % of a signed-in constant page. The same pair always gives the same identifier,
    so it is kept; what is compared, and what happens when it differs, is unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._identifiers: dict[tuple[str | None, str | None], str] = {}
        self._session_identifier_generator = self._identifier

    def _identifier(self) -> str:
        environ = request.environ
        # What _create_identifier reads: X-Forwarded-For, else the address; the user agent.
        client = (
            environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR")),
            environ.get("HTTP_USER_AGENT"),
        )
        identifier = self._identifiers.get(client)
        if identifier is None:
            identifier = _create_identifier()
            if len(self._identifiers) >= MAX_CLIENTS:
                self._identifiers.clear()
            self._identifiers[client] = identifier
        return identifier


class Compress(_Compress):
    """Flask-Compress, leaving at once a response too short to compress.

    It reads the request's Accept-Encoding and the response's type and status before
    finding that the response is below COMPRESS_MIN_SIZE: 7 % of a constant page.
    Only the Vary header it adds first is added here, as it does.
    """

    def after_request(self, response: Response | None) -> Response:
        if response:
            length = response.content_length
            if length is not None and length < current_app.config["COMPRESS_MIN_SIZE"]:
                vary = response.headers.get("Vary")
                if not vary:
                    response.headers["Vary"] = "Accept-Encoding"
                elif "accept-encoding" not in vary.lower():
                    response.headers["Vary"] = f"{vary}, Accept-Encoding"
                return response
        return super().after_request(response)


compress = Compress()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Connectez-vous pour accéder à cette page."
login_manager.login_message_category = "info"


class RateLimits:
    """The `limits` storage of an app, for the few counters it keeps (imagin.auth.throttle).

    No request hook: only the views that count something touch the storage.
    """

    key = "imagin.rate_limits"

    def init_app(self, app: Flask) -> None:
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        strategy = STRATEGIES[app.config["RATELIMIT_STRATEGY"]]
        app.extensions[self.key] = strategy(storage)

    def limiter(self) -> RateLimiter:
        return current_app.extensions[self.key]


rate_limits = RateLimits()
