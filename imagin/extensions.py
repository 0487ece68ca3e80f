"""One instance of each Flask extension; create_app() calls their init_app()."""

from __future__ import annotations

from flask import Flask, current_app
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter

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
