"""Sign-in, sign-out and the signed-in user; the académie portal; the accounts for admins."""

from flask import Flask

from imagin.auth.admin import bp as admin_bp
from imagin.auth.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Check the portal settings (a wrong one stops the start), register the blueprints,
    answer the boosted sign-in with its page (boosted.py)."""
    from imagin.auth import oidc
    from imagin.auth.boosted import FollowBoostedRedirect
    from imagin.auth.portal import RecentRefusals, sign_in_from_headers
    from imagin.auth.sso import load_settings

    settings = load_settings(app.config)
    app.extensions["imagin.sso"] = settings
    app.extensions["imagin.sso_refusals"] = RecentRefusals()
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    # Inside URL_PREFIX's dispatcher and ProxyFix (create_app wraps them later): it sees
    # the request as the application does.
    app.wsgi_app = FollowBoostedRedirect(app.wsgi_app)  # type: ignore[method-assign]
    if settings.mode == "headers":
        app.before_request(sign_in_from_headers)
    elif settings.mode == "oidc":
        oidc.init_app(app, settings)
