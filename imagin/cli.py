"""The ``imagin`` command: ``db upgrade``, ``demo``, ``serve``, ``create-user``…"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from imagin import create_app
from imagin.domain.roles import Role

ROLES = tuple(role.value for role in Role)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Port (défaut : $PORT ou 8080).")
@click.option("--threads", type=int, default=8, show_default=True)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Sert les métriques Prometheus sur ce port, sans jeton.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def serve_command(
    host: str, port: int | None, threads: int, metrics_port: int | None, metrics_host: str
) -> None:
    """Serve the application with waitress (and send the outbox, unless a worker does)."""
    from imagin import mail, ops

    port = port or int(os.environ.get("PORT", "8080"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["REQUEST_LOG"]:
        ops.configure_logging()
    server = create_server(app, host=host, port=port, threads=threads)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host, registry=ops.registry(app))
    if app.config["SEND_MAIL_IN_SERVE"]:
        mail.start_sender(app)
        click.echo("Envoi des e-mails : par ce processus, en arrière-plan.")
    else:
        click.echo("Envoi des e-mails : par `imagin worker` (IMAGIN_SEND_MAIL_IN_SERVE=false).")
    prefix = app.config["URL_PREFIX"]
    click.echo(f"IMAG'IN sur http://{host}:{server.effective_port}{prefix}/ (Ctrl+C pour arrêter)")
    _stop_on_sigterm(server)
    try:
        server.run()
    finally:
        mail.stop_sender(app)


def waitress_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """What waitress needs beyond the address: body limit and the trusted reverse proxy."""
    settings: dict[str, Any] = {
        # A little above Flask's own limit, so Flask answers 413 in French first,
        # while waitress still refuses a huge body before buffering it.
        "max_request_body_size": config["MAX_CONTENT_LENGTH"] + 64 * 1024,
        "ident": "imagin",
    }
    proxies = int(config["PROXY_COUNT"])
    if proxies:
        # waitress drops X-Forwarded-* from anyone it was not told to trust: without
        # these, every visitor would look like the proxy (one throttling bucket for
        # all) and links would say http://.
        settings |= {
            "trusted_proxy": config["TRUSTED_PROXY"],
            "trusted_proxy_count": proxies,
            "trusted_proxy_headers": set(config["TRUSTED_PROXY_HEADERS"]),
            "clear_untrusted_proxy_headers": True,
        }
    return settings


def create_server(app: Flask, *, host: str, port: int, threads: int):
    """A waitress server for ``app``, with the trusted proxy settings of its config.

    With a trusted proxy, waitress replaces REMOTE_ADDR by the visitor's address
    (from X-Forwarded-For) and keeps no copy of the peer's in the environ; the
    portal's headers mode reads the peer from waitress' connection instead
    (``imagin.auth.portal_headers.direct_peer``).
    """
    import waitress.server

    server = waitress.server.create_server(
        app, host=host, port=port, threads=threads, **waitress_settings(app.config)
    )
    return server


def _stop_on_sigterm(server) -> None:
    """systemd stops with SIGTERM: close the listening socket and end run() cleanly."""

    def stop(_signum, _frame):
        server.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default=Role.INTERVENANT.value, show_default=True)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
def create_user_command(email: str, role: str, first_name: str, last_name: str) -> None:
    """Create a user account; the password is asked for, never taken on the command line."""
    from imagin.auth.passwords import hash_password
    from imagin.db import get_db
    from imagin.models import User

    email = email.strip()
    if "@" not in email:
        raise click.BadParameter("adresse électronique invalide", param_hint="EMAIL")
    password = click.prompt(
        "Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe"
    )
    if len(password) < 12:
        raise click.ClickException("Le mot de passe doit compter au moins 12 caractères.")
    db = get_db()
    if db.scalar(select(func.count()).where(func.lower(User.email) == email.lower())):
        raise click.ClickException(f"Un compte existe déjà pour {email}.")
    db.add(
        User(
            email=email,
            role=role,
            first_name=first_name,
            last_name=last_name,
            password_hash=hash_password(password),
        )
    )
    db.commit()
    click.echo(f"Compte {role} créé : {email}")


def init_app(app: Flask) -> None:
    from imagin.dossier.cli import keys_cli, purge_command
    from imagin.worker import worker_command

    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(keys_cli)
    app.cli.add_command(purge_command)


main = FlaskGroup(create_app=create_app, add_default_commands=True, load_dotenv=False)
