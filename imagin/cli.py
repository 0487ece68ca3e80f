"""The ``imagin`` command: ``db upgrade``, ``demo``, ``serve``, ``create-user``…"""

from __future__ import annotations

import os

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
def serve_command(host: str, port: int | None, threads: int) -> None:
    """Serve the application with waitress."""
    from waitress import serve

    port = port or int(os.environ.get("PORT", "8080"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    prefix = app.config["URL_PREFIX"]
    click.echo(f"IMAG'IN sur http://{host}:{port}{prefix}/ (Ctrl+C pour arrêter)")
    serve(
        app,
        host=host,
        port=port,
        threads=threads,
        # A little above Flask's own limit, so Flask answers 413 in French first,
        # while waitress still refuses a huge body before buffering it.
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 64 * 1024,
        ident="imagin",
    )


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
    app.cli.add_command(serve_command)
    app.cli.add_command(create_user_command)


main = FlaskGroup(create_app=create_app, add_default_commands=True, load_dotenv=False)
