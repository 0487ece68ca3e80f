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

# Python runs one thread at a time per process: beyond two (one answers while the other
# waits for the database or a file), more threads only cost context switches and the
# queue's tail latency, one process or several (bench/processes.py). Slow clients cost no
# thread: waitress reads and writes their bytes in its own loop.
THREADS_PER_PROCESS = 2


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Port (défaut : $PORT ou 8080).")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    envvar="IMAGIN_SERVE_PROCESSES",
    help="Processus servant le même port (défaut : $IMAGIN_SERVE_PROCESSES, ou un par cœur).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help=f"Fils par processus (défaut : {THREADS_PER_PROCESS}).",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Sert les métriques Prometheus sur ce port, sans jeton (processus n : port + n).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def serve_command(
    host: str,
    port: int | None,
    processes: int | None,
    threads: int | None,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Serve the app with waitress on every core (and send the outbox, unless a worker does)."""
    from imagin import ops, prefork

    port = port or int(os.environ.get("PORT", "8080"))
    processes = processes or prefork.default_processes()
    threads = threads or THREADS_PER_PROCESS
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["REQUEST_LOG"]:
        ops.configure_logging()
    prefix = app.config["URL_PREFIX"]
    if processes == 1:
        server = create_server(app, host=host, port=port, threads=threads)
        _say_address(host, server.effective_port, prefix, processes, threads)
        _serve(app, server, slot=0, metrics_port=metrics_port, metrics_host=metrics_host)
        return
    try:
        sock = prefork.bind(host, port)
    except OSError as error:
        raise click.ClickException(f"Impossible d'écouter sur {host}:{port} : {error}") from error
    _say_address(host, sock.getsockname()[1], prefix, processes, threads)

    def serve_child(slot: int) -> None:
        from imagin.db import after_fork

        after_fork(app)
        server = create_server(app, sockets=[sock], threads=threads)
        _serve(app, server, slot=slot, metrics_port=metrics_port, metrics_host=metrics_host)

    supervisor = prefork.Supervisor(processes, serve_child, log=click.echo)
    raise SystemExit(supervisor.run())


def _say_address(host: str, port: int, prefix: str, processes: int, threads: int) -> None:
    click.echo(
        f"IMAG'IN sur http://{host}:{port}{prefix}/ ({processes} processus × {threads} fils ;"
        " Ctrl+C pour arrêter)"
    )


def _serve(app: Flask, server, *, slot: int, metrics_port: int | None, metrics_host: str) -> None:
    """Run one server process until SIGTERM; process 0 also sends the outbox (embedded setup)."""
    from imagin import mail, ops

    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port + slot, addr=metrics_host, registry=ops.registry(app))
    # One sender is enough (each message is leased by one sender anyway): process 0's.
    if slot == 0:
        if app.config["SEND_MAIL_IN_SERVE"]:
            mail.start_sender(app)
            click.echo(f"Envoi des e-mails : par ce processus ({os.getpid()}), en arrière-plan.")
        else:
            click.echo("Envoi des e-mails : par `imagin worker` (IMAGIN_SEND_MAIL_IN_SERVE=false).")
    _stop_on_sigterm(server)
    try:
        server.run()
    finally:
        mail.stop_sender(app)


def waitress_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """What waitress needs beyond the address: body limit and the trusted reverse proxy."""
    settings: dict[str, Any] = {
        # A little above the app's own limits (an upload's is the larger), so the
        # app answers 413 in French first, while waitress still refuses a huge body
        # before buffering it.
        "max_request_body_size": max(
            config["MAX_CONTENT_LENGTH"], config["MAX_UPLOAD_REQUEST_BYTES"]
        )
        + 64 * 1024,
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


def create_server(
    app: Flask,
    *,
    threads: int,
    host: str | None = None,
    port: int | None = None,
    sockets: list | None = None,
):
    """A waitress server for ``app``, with the trusted proxy settings of its config.

    With a trusted proxy, waitress replaces REMOTE_ADDR by the visitor's address
    (from X-Forwarded-For) and keeps no copy of the peer's in the environ; the
    portal's headers mode reads the peer from waitress' connection instead
    (``imagin.auth.portal_headers.direct_peer``).
    """
    import waitress.server

    # Either an address to bind, or the sockets bound once by the supervisor.
    where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host, "port": port}
    return waitress.server.create_server(
        app, threads=threads, **where, **waitress_settings(app.config)
    )


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


@click.group("counts")
def counts_group() -> None:
    """The claim counts of the DEC queue (table claim_count, kept by triggers)."""


@counts_group.command("rebuild")
@with_appcontext
def counts_rebuild_command() -> None:
    """Recompute every count from the claims, in one transaction."""
    from flask import current_app

    from imagin.models.counts import rebuild_counts

    with current_app.extensions["imagin.engine"].begin() as connection:
        rows = rebuild_counts(connection)
    click.echo(f"Compteurs recalculés : {rows} ligne(s).")


@click.command("reminders")
@with_appcontext
@click.option(
    "--dry-run", is_flag=True, help="Affiche qui recevrait un rappel aujourd'hui, sans l'envoyer."
)
def reminders_command(dry_run: bool) -> None:
    """Queue today's reminders of the closing dates (the worker does it every hour)."""
    from imagin import clock
    from imagin.claims.deadlines import due_reminders, queue_reminders
    from imagin.db import get_db
    from imagin.domain.money import format_date

    db = get_db()
    now = clock.now()
    reminders = due_reminders(db, now.date()) if dry_run else queue_reminders(db, now)
    if not dry_run:
        db.commit()
    for r in reminders:
        click.echo(
            f"{r.email}\tmission {r.number}\tJ-{r.days_before}\t"
            f"clôture le {format_date(r.closes_on)}"
        )
    verb = "recevraient" if dry_run else "ont reçu"
    people = len({r.email for r in reminders})
    click.echo(f"{people} intervenant(s) {verb} un rappel ({len(reminders)} état(s) de frais).")


def init_app(app: Flask) -> None:
    from imagin.dossier.cli import keys_cli, purge_command
    from imagin.worker import worker_command

    app.cli.add_command(reminders_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(counts_group)
    app.cli.add_command(keys_cli)
    app.cli.add_command(purge_command)


main = FlaskGroup(create_app=create_app, add_default_commands=True, load_dotenv=False)
