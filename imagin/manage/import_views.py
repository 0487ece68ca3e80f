"""Importing convocations from a CSV file: upload, dry run with every error, then apply.

The uploaded text is kept between the preview and the apply step in a file of
the instance folder under a random name; the form carries that name signed
with the secret key (bound to the gestionnaire and to the file's hash), so the
preview page stays light and nothing large goes through the session cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path

from flask import current_app, url_for
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField
from wtforms.validators import DataRequired

from imagin import clock
from imagin.db import get_db
from imagin.domain.convocations import COLUMNS, DESCRIPTIONS, decode_csv
from imagin.forms import Form
from imagin.manage.imports import apply_import, plan_import
from imagin.manage.views import bp
from imagin.rendering import back_to, render_page

MAX_IMPORT_BYTES = 2 * 1024 * 1024
# How long a preview can be applied; its kept file is deleted after that.
PREVIEW_MAX_AGE = 3600
EXPIRED = (
    "Cet aperçu a expiré ou a déjà été appliqué : déposez à nouveau le fichier pour le vérifier."
)
CHANGED = (
    "Les données ont changé pendant l'import (une autre personne importait peut-être en même "
    "temps) : rien n'a été enregistré. Déposez à nouveau le fichier pour le vérifier."
)


class ImportForm(Form):
    file = FileField(
        "Fichier des convocations (CSV)",
        validators=[
            FileRequired("Choisissez le fichier CSV des convocations."),
            FileAllowed(["csv", "txt"], "Le fichier doit être au format CSV (.csv)."),
            FileSize(
                MAX_IMPORT_BYTES, message="Le fichier dépasse 2 Mo : découpez-le en plusieurs."
            ),
        ],
    )


class ApplyImportForm(Form):
    token = HiddenField(validators=[DataRequired(EXPIRED)])


@bp.route("/import", methods=["GET", "POST"])
def import_convocations():
    """Upload a CSV file of convocations and show what importing it would do."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _upload_page(form)
    try:
        text = _read_upload(form)
    except ValueError as error:
        form.file.errors.append(str(error))
        return _upload_page(form)
    plan = plan_import(get_db(), text, current_user)
    apply_form = ApplyImportForm(formdata=None, token=_keep(text) if plan.ok else "")
    return _preview_page(plan, apply_form)


@bp.post("/import/appliquer")
def apply_convocations():
    """Apply a previewed import in one transaction, then go back to the queue."""
    form = ApplyImportForm()
    kept = _load(form.token.data) if form.validate_on_submit() else None
    if kept is None:
        upload = ImportForm(formdata=None)
        upload.file.errors = [EXPIRED]
        return _upload_page(upload, status=422)
    text, path = kept
    db = get_db()
    plan = apply_import(db, text, current_user, clock.now())
    if not plan.applied:
        db.rollback()
        return _preview_page(plan, ApplyImportForm(formdata=None, token=""))
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        upload = ImportForm(formdata=None)
        upload.file.errors = [CHANGED]
        return _upload_page(upload, status=409)
    # Applied once: the same preview cannot be applied again.
    path.unlink(missing_ok=True)
    return back_to(url_for("manage.index"), f"Import terminé : {plan.summary()}")


def _upload_page(form: ImportForm, status: int | None = None):
    if status is None:
        status = 422 if form.errors else 200
    return render_page(
        "manage/import.html", status=status, form=form, columns=COLUMNS, descriptions=DESCRIPTIONS
    )


def _preview_page(plan, apply_form: ApplyImportForm):
    return render_page(
        "manage/import_preview.html",
        status=200 if plan.ok else 422,
        plan=plan,
        apply_form=apply_form,
        form=ImportForm(formdata=None),
        columns=COLUMNS,
        descriptions=DESCRIPTIONS,
    )


def _read_upload(form: ImportForm) -> str:
    return decode_csv(form.file.data.read())


# The kept upload --------------------------------------------------------------------------


def _folder() -> Path:
    folder = Path(
        current_app.config.get("IMPORT_DIR") or Path(current_app.instance_path) / "imports"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="imagin.manage.import")


def _keep(text: str) -> str:
    """Store the text for the apply step; return the signed token the form carries."""
    folder = _folder()
    now = time.time()
    for old in folder.glob("*.csv"):
        # Previews nobody applied: their token has expired anyway. Another worker may
        # be removing the same file.
        try:
            if now - old.stat().st_mtime > PREVIEW_MAX_AGE:
                old.unlink(missing_ok=True)
        except OSError:
            continue
    name = secrets.token_urlsafe(24)
    data = text.encode()
    (folder / f"{name}.csv").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return _serializer().dumps({"file": name, "user": current_user.id, "sha256": digest})


def _load(token: str | None) -> tuple[str, Path] | None:
    """The kept text of a valid token of this gestionnaire, and its file; None otherwise."""
    try:
        kept = _serializer().loads(token or "", max_age=PREVIEW_MAX_AGE)
        path = _folder() / f"{kept['file']}.csv"
        data = path.read_bytes()
    except (BadSignature, OSError, KeyError, TypeError):
        return None
    mine = kept.get("user") == current_user.id
    if not mine or hashlib.sha256(data).hexdigest() != kept.get("sha256"):
        return None
    return data.decode(), path
