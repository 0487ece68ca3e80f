"""IMAG'IN: exam missions, pay and travel claims, and their checking by the DEC."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from imagin.responses import Response


class App(Flask):
    """Flask, asking once per hook or view whether it is a coroutine function.

    Flask asks it before each call (``inspect.iscoroutinefunction``, a dozen hooks per
    request): 7 % of a short page's work, for an answer that never changes. Its responses
    look their headers up without exceptions (imagin.responses).
    """

    response_class = Response

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            sync = super().ensure_sync(func)
            # Hooks and views are a fixed set; a callable made per request is not kept.
            if len(self._sync) < 1000:
                self._sync[func] = sync
            return sync
        except TypeError:  # not hashable
            return super().ensure_sync(func)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the IMAG'IN application."""
    app = App(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    _load_config(app, test_config)

    from imagin import csrf_tokens, db, errors, headers, ops, rendering, session_cookie
    from imagin.extensions import compress, csrf, login_manager, rate_limits

    db.init_app(app)
    session_cookie.init_app(app)
    # First: its before_request starts the clock and its after_request, run last,
    # logs the response as it leaves.
    ops.init_app(app)
    csrf.init_app(app)
    csrf_tokens.init_app(app)
    login_manager.init_app(app)
    rate_limits.init_app(app)
    compress.init_app(app)
    headers.init_app(app)
    rendering.init_app(app)
    errors.init_app(app)

    from imagin import (
        auth,
        centre,
        claims,
        cli,
        demo,
        documents,
        dossier,
        mail,
        manage,
        missions,
        profile,
        travel,
    )

    auth.init_app(app)
    app.register_blueprint(missions.bp)
    app.register_blueprint(claims.bp)
    app.register_blueprint(travel.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(centre.bp)
    app.register_blueprint(centre.admin_bp)
    app.register_blueprint(dossier.bp)
    demo.init_app(app)
    cli.init_app(app)
    documents.init_app(app)
    mail.init_app(app)

    _mount(app)
    return app


def _load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object("imagin.config")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("IMAGIN")
        if os.environ.get("DATABASE_URL"):
            app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "imagin.db")
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = os.path.join(app.instance_path, "uploads")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    app.config["URL_PREFIX"] = app.config["URL_PREFIX"].rstrip("/")
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["HTTPS"])
    app.config["SESSION_COOKIE_PATH"] = app.config["URL_PREFIX"] or "/"
    app.config["PREFERRED_URL_SCHEME"] = "https" if app.config["HTTPS"] else "http"
    app.config["TRUSTED_HOSTS"] = trusted_hosts(
        app.config["PUBLIC_URL"], app.config["TRUSTED_HOSTS"]
    )


LOOPBACK_NAMES = ("localhost", "127.0.0.1")


def trusted_hosts(public_url: str | None, extra: str | list[str] | None) -> list[str]:
    """The Host names this site answers to (Flask's TRUSTED_HOSTS): the public address's,
    the loopback names when that address is on this machine, and the configured others."""
    names = [extra] if isinstance(extra, str) else list(extra or [])
    hosts = [name.strip() for item in names for name in item.split(",") if name.strip()]
    public = urlsplit(public_url or "http://127.0.0.1:8080").hostname
    if public:
        hosts.append(f"[{public}]" if ":" in public else public)
        if public in LOOPBACK_NAMES:
            hosts.extend(LOOPBACK_NAMES)
    return list(dict.fromkeys(hosts))


def _instance_secret_key(instance: Path) -> str:
    """Read the secret key kept in the instance folder, creating it on first run."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        # O_EXCL: two workers starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as secret_file:
            secret_file.write(key)
        return key


def _mount(app: Flask) -> None:
    """Serve under URL_PREFIX when set, and trust the reverse proxy's headers."""
    prefix = app.config["URL_PREFIX"]
    if prefix:
        app.wsgi_app = DispatcherMiddleware(NotFound(), {prefix: app.wsgi_app})  # type: ignore[method-assign]
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
