"""The ``imagin documents`` commands: check that files and rows agree, and repair."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from imagin.db import get_db
from imagin.documents.consistency import DEFAULT_GRACE, ConsistencyReport, check_storage
from imagin.storage import get_storage


@click.group("documents")
def documents_cli() -> None:
    """Manage the stored supporting documents."""


@documents_cli.command("check")
@with_appcontext
@click.option(
    "--repair", is_flag=True, help="Supprime les fichiers orphelins et les pièces sans fichier."
)
@click.option("--verify", is_flag=True, help="Recalcule l'empreinte SHA-256 de chaque fichier.")
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=int(DEFAULT_GRACE.total_seconds() // 60),
    show_default=True,
    help="Âge minimal d'un fichier sans pièce avant suppression (un dépôt peut être en cours).",
)
def check_command(repair: bool, verify: bool, grace_minutes: int) -> None:
    """Report files without a row and rows without a file (exit 1 if any remain); --repair fixes."""
    report = check_storage(
        get_db(),
        get_storage(),
        repair=repair,
        verify=verify,
        grace=dt.timedelta(minutes=grace_minutes),
    )
    _echo(report)
    if report.needs_attention:
        raise SystemExit(1)


def _echo(report: ConsistencyReport) -> None:
    done = "supprimé" if report.repaired else "à supprimer (--repair)"
    for name in report.orphan_files:
        click.echo(f"Fichier sans pièce, {done} : {name}")
    for name in report.temporary_files:
        click.echo(f"Fichier temporaire abandonné, {done} : {name}")
    for lost in report.lost_documents:
        what = "pièce retirée" if report.repaired else "pièce à retirer (--repair)"
        click.echo(
            f"Fichier manquant, {what} : pièce {lost.document_id} « {lost.original_name} » "
            f"du dossier {lost.claim_id} ({lost.stored_name})"
        )
    for name in report.altered_files:
        click.echo(f"Fichier altéré (taille ou empreinte différente), à restaurer : {name}")
    for name in report.failed_repairs:
        click.echo(f"Suppression impossible : {name}")
    for name in report.recent_files:
        click.echo(f"Fichier récent sans pièce (dépôt peut-être en cours), laissé : {name}")
    for name in report.unknown_files:
        click.echo(f"Fichier inconnu, laissé : {name}")
    if report.consistent:
        click.echo("Stockage des pièces cohérent.")
    elif report.needs_attention:
        click.echo("Des incohérences restent à traiter.")
    else:
        click.echo("Incohérences réparées.")
