"""``imagin keys rotate``: re-encrypt the dossiers' numbers with a new key."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from imagin.crypto import KEY_FILE, Keyring, new_key, read_key_file, write_key_file
from imagin.dossier.service import _KEYRING, ENCRYPTED, keyring, seal, unseal


@click.group("keys")
def keys_cli() -> None:
    """The keys that encrypt IBAN, BIC and NIR."""


@keys_cli.command("rotate")
@with_appcontext
def rotate_command() -> None:
    """Encrypt every stored number with a new key.

    With IMAGIN_DATA_KEY, put the new key first in it (``new,old``) and run this: every
    value is re-encrypted with the first key, then the old one can be removed. Without
    it, a new key is generated into the instance folder and the old one dropped once
    every value is re-encrypted.
    """
    from imagin.db import get_db
    from imagin.models import Dossier

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    path = Path(app.instance_path) / KEY_FILE
    from_file = not app.config.get("DATA_KEY")
    if from_file:
        old_keys = read_key_file(path, create=True)
        # The new key first, the old ones kept until the re-encryption is committed.
        ring = Keyring((new_key(), *old_keys))
        write_key_file(path, list(ring.keys))
        app.extensions[_KEYRING] = ring
    else:
        ring = keyring(app)
    db = get_db()
    count = 0
    for dossier in db.scalars(select(Dossier)):
        for column in ENCRYPTED:
            stored = getattr(dossier, column)
            if stored is not None and not ring.encrypted_with_current(stored):
                seal(dossier, column, unseal(dossier, column, ring), ring)
                count += 1
    db.commit()
    if from_file:
        write_key_file(path, [ring.keys[0]])
        app.extensions[_KEYRING] = Keyring((ring.keys[0],))
        click.echo(f"Nouvelle clé dans {path} ; {count} valeur(s) rechiffrée(s).")
    else:
        click.echo(
            f"{count} valeur(s) rechiffrée(s) avec la première clé de IMAGIN_DATA_KEY : "
            "les autres peuvent en être retirées."
        )


@click.command("purge")
@with_appcontext
@click.option(
    "--older-than",
    "years",
    type=click.IntRange(1, 100),
    required=True,
    help="Durée de conservation, en années.",
)
def purge_command(years: int) -> None:
    """Remove documents and dossiers financiers past the retention period (amounts and
    the audit trail stay)."""
    from imagin import clock
    from imagin.db import get_db
    from imagin.dossier.rights import purge
    from imagin.storage import get_storage

    documents, dossiers, batches = purge(get_db(), get_storage(), years, clock.now())
    click.echo(
        f"Purge (plus de {years} an(s)) : {documents} pièce(s) justificative(s), "
        f"{dossiers} dossier(s) financier(s) supprimé(s) ; {batches} fichier(s) de "
        "paiement vidé(s) (les montants et l'historique restent)."
    )
