"""One instance of each Flask extension; create_app() calls their init_app()."""

from __future__ import annotations

from flask import Flask, Response, current_app, request, session
from flask_compress import Compress as _Compress
from flask_login import LoginManager as _LoginManager
from flask_login.config import AUTH_HEADER_NAME, COOKIE_NAME
from flask_login.signals import user_accessed
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

    # Flask-Login's request hooks, each object behind Flask's proxies fetched once: an
    # attribute read through a proxy costs 8,000 instructions, fetching the object 1,500.
    # What they read, compare and set is Flask-Login's (0.6.3), line for line.

    def _load_user(self) -> None:
        if self._user_callback is None and self._request_callback is None:
            return super()._load_user()  # its error
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if user_accessed.receivers:
            user_accessed.send(app)
        if self._session_protection_failed():
            return self._update_request_context_with_user()
        sess = session._get_current_object()  # type: ignore[attr-defined]
        user = None
        user_id = sess.get("_user_id")
        if user_id is not None and self._user_callback is not None:
            user = self._user_callback(user_id)
        if user is None:
            # Remember-me cookie, request loader or header: Flask-Login's own order.
            config = app.config
            cookie_name = config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
            header_name = config.get("AUTH_HEADER_NAME", AUTH_HEADER_NAME)
            has_cookie = cookie_name in request.cookies and sess.get("_remember") != "clear"
            if has_cookie:
                user = self._load_user_from_remember_cookie(request.cookies[cookie_name])
            elif self._request_callback:
                user = self._load_user_from_request(request)
            elif header_name in request.headers:
                user = self._load_user_from_header(request.headers[header_name])
        return self._update_request_context_with_user(user)

    def _update_remember_cookie(self, response: Response) -> Response:
        sess = session._get_current_object()  # type: ignore[attr-defined]
        if "_remember" in sess or current_app._get_current_object().config.get(  # type: ignore[attr-defined]
            "REMEMBER_COOKIE_REFRESH_EACH_REQUEST"
        ):
            return super()._update_remember_cookie(response)
        return response

    def _identifier(self) -> str:
        environ = request._get_current_object().environ  # type: ignore[attr-defined]
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
            config = current_app._get_current_object().config  # type: ignore[attr-defined]
            if length is not None and length < config["COMPRESS_MIN_SIZE"]:
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
