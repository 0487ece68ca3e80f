"""/profil/dossier-financier (the intervenant's own) and /gestion/dossiers (the DEC's checks).

Only the owner and the gestionnaires of a bureau where the owner has a mission reach
a dossier; anyone else gets a 404. The numbers are shown masked, except to the
gestionnaire who asks to reveal them (an audit event each time).
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from imagin import clock
from imagin.db import get_db
from imagin.documents.checks import inspect_upload
from imagin.documents.errors import DocumentRefused
from imagin.documents.views import attachment
from imagin.domain.bank_details import (
    Civility,
    InvalidNumber,
    clean_bic,
    clean_iban,
    clean_nir,
    format_iban,
    format_nir,
)
from imagin.domain.dossier import DocumentKind, DossierStatus, Need
from imagin.domain.roles import Role
from imagin.dossier import service
from imagin.dossier.forms import DecisionForm, DossierForm, QueueSearchForm
from imagin.manage.access import require_manager
from imagin.missions.queries import MAX_MISSION_NUMBER
from imagin.models import Dossier, DossierDocument, DossierEvent, User
from imagin.rendering import back_to, render_page
from imagin.storage import InvalidStoredName, get_storage

bp = Blueprint("dossier", __name__)

OWN = "/profil/dossier-financier"
MANAGED = "/gestion/dossiers"
USER = "/<int(max=2147483647):user_id>"


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


@bp.app_context_processor
def dossier_context() -> dict:
    """``dossier_need_now()`` for the mission pages: what the rule says of the signed-in
    intervenant's dossier today (one query per request, on the pages that ask)."""

    def dossier_need_now():
        # The user behind the proxy read once: each current_user access is a lookup.
        user = current_user._get_current_object()
        if not user.is_authenticated or user.role != Role.INTERVENANT:
            return None
        return service.need_of(None, user.id, clock.today())

    return {"dossier_need_now": dossier_need_now}


def _back_number() -> int | None:
    number = request.args.get("number", type=int)
    return number if number and 0 < number <= MAX_MISSION_NUMBER else None


# --- The intervenant's own dossier -----------------------------------------------------------


@bp.route(OWN, methods=["GET", "POST"])
def edit():
    """Show and save the intervenant's dossier financier (numbers masked, documents listed)."""
    db = get_db()
    user = db.get(User, current_user.id)
    dossier = service.get_dossier(db, user.id)
    ring = service.keyring()
    stored = service.numbers(dossier, ring)
    form = DossierForm(obj=dossier if request.method == "GET" else None)
    if request.method == "GET":
        form.nir.data = form.iban.data = form.bic.data = ""
        if dossier is None:
            form.birth_name.data = user.last_name.upper()
            form.first_names.data = user.first_name
            form.holder_name.data = user.display_name
            form.country.data = "France"
    number = _back_number()
    if request.method == "POST":
        valid = form.validate_on_submit()
        cleaned = _check_numbers(form, stored)
        files = _check_files(form)
        if valid and cleaned is not None and files is not None:
            status = service.save_dossier(
                db,
                get_storage(),
                user,
                {name: getattr(form, name).data for name in DossierForm.TYPED},
                cleaned,
                files,
                ring,
                clock.now(),
                clock.today(),
            )
            message = {
                DossierStatus.SUBMITTED: "Dossier financier transmis à la DEC, qui va le vérifier.",
                DossierStatus.VERIFIED: "Dossier financier enregistré (il reste vérifié).",
            }.get(
                status,
                "Dossier financier enregistré : ajoutez les pièces qui manquent pour le "
                "transmettre à la DEC.",
            )
            return back_to(url_for("dossier.edit", number=number), message)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "dossier/edit.html",
        status=status,
        summary_of=[form],
        form=form,
        dossier=dossier,
        state=dossier.state if dossier else DossierStatus.TO_PROVIDE,
        masked=stored.masked,
        need=service.need_of(db, user.id, clock.today()),
        documents={DocumentKind(d.kind): d for d in (dossier.documents if dossier else [])},
        kinds=list(DocumentKind),
        number=number,
    )


def _check_numbers(form: DossierForm, stored: service.Numbers) -> dict[str, str] | None:
    """The NIR, IBAN and BIC typed (or on file when left empty), checked; None on error."""
    civility = Civility(form.civility.data) if form.civility.data in {"F", "M"} else None
    birth = form.birth_date.data if not form.birth_date.errors else None
    cleaned: dict[str, str] = {}
    ok = True
    checks = (
        ("nir", lambda value: clean_nir(value, birth_date=birth, civility=civility)),
        ("iban", clean_iban),
        ("bic", lambda value: clean_bic(value, iban=cleaned.get("iban"))),
    )
    for name, check in checks:
        field = getattr(form, name)
        typed = (field.data or "").strip()
        value = typed or getattr(stored, name) or ""
        if field.errors:
            ok = False
            continue
        try:
            cleaned[name] = check(value)
        except InvalidNumber as refused:
            field.errors = [*field.errors, refused.message]
            ok = False
    return cleaned if ok else None


def _check_files(form: DossierForm) -> dict[DocumentKind, object] | None:
    """Each document sent, checked like a receipt; None when one is refused."""
    checked = {}
    ok = True
    max_bytes = current_app.config["MAX_UPLOAD_BYTES"]
    for kind in DocumentKind:
        field = getattr(form, kind.value)
        upload = request.files.get(field.name)
        if not upload or not upload.filename:
            continue
        try:
            checked[kind] = inspect_upload(upload.stream, upload.filename, max_bytes=max_bytes)
        except DocumentRefused as refused:
            field.errors = [*(field.errors or []), refused.message]
            ok = False
    return checked if ok else None


@bp.get(OWN + "/pieces/<kind>")
def own_document(kind: str):
    """One document of the intervenant's own dossier, as an attachment."""
    dossier = service.get_dossier(get_db(), current_user.id)
    return _send(_document_of(dossier, kind))


@bp.get(OWN + "/mes-donnees.zip")
def access_zip():
    """Everything IMAG'IN holds about the signed-in user, as a ZIP (right of access)."""
    from imagin.dossier.rights import access_zip as build

    db = get_db()
    data = build(db, get_storage(), db.get(User, current_user.id), service.keyring())
    response = send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name="mes-donnees-imagin.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- The DEC's checks -----------------------------------------------------------------------


@bp.get(MANAGED)
def queue():
    """Dossiers financiers à vérifier: by status (Transmis first), by name, 50 a page."""
    require_manager()
    form = QueueSearchForm(request.args)
    form.set_choices(service.QUEUE_ORDER)
    status, name, page = form.cleaned()
    result = service.queue_page(
        get_db(), status, name, page=page, per_page=current_app.config["DOSSIERS_PER_PAGE"]
    )
    return render_page(
        "dossier/queue.html",
        "results",
        form=form,
        result=result,
        wanted=status,
        name=name,
        query_args={"statut": form.statut.data, **({"nom": name} if name else {})},
    )


def _managed_dossier(user_id: int) -> Dossier:
    """A dossier of an intervenant of the gestionnaire's bureaus; 404 otherwise."""
    require_manager()
    dossier = get_db().scalar(
        select(Dossier)
        .where(Dossier.user_id == user_id, service.managed_owner(Dossier.user_id))
        .options(selectinload(Dossier.user), selectinload(Dossier.documents))
    )
    if dossier is None:
        abort(404)
    return dossier


def _review(dossier: Dossier, *, form=None, revealed=None, status: int = 200):
    db = get_db()
    events = db.scalars(
        select(DossierEvent)
        .where(DossierEvent.user_id == dossier.user_id)
        .options(selectinload(DossierEvent.actor))
        .order_by(DossierEvent.at.desc(), DossierEvent.id.desc())
        .limit(30)
    ).all()
    return render_page(
        "dossier/review.html",
        status=status,
        summary_of=[form] if form else [],
        dossier=dossier,
        form=form or DecisionForm(),
        masked=service.numbers(dossier, service.keyring()).masked,
        revealed=revealed,
        documents={DocumentKind(d.kind): d for d in dossier.documents},
        kinds=list(DocumentKind),
        events=events,
        need=service.need_of(db, dossier.user_id, clock.today()),
        Need=Need,
    )


@bp.get(MANAGED + USER)
def review(user_id: int):
    """One dossier for the DEC: typed values beside the documents, numbers masked."""
    return _review(_managed_dossier(user_id))


@bp.post(MANAGED + USER + "/reveler")
def reveal(user_id: int):
    """Show the full IBAN, BIC and NIR to this gestionnaire, once, and record that he saw them."""
    dossier = _managed_dossier(user_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _review(dossier, form=form, status=422)
    values = service.numbers(dossier, service.keyring())
    service.record(get_db(), dossier, "reveal", actor_id=current_user.id, at=clock.now())
    get_db().commit()
    revealed = service.Numbers(
        format_nir(values.nir) if values.nir else None,
        format_iban(values.iban) if values.iban else None,
        values.bic,
    )
    response = _review(dossier, revealed=revealed)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(MANAGED + USER + "/verifier")
def verify(user_id: int):
    """Mark a transmitted dossier "Vérifié": it may then be paid."""
    dossier = _managed_dossier(user_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _review(dossier, form=form, status=422)
    refusal = service.verify(get_db(), dossier, current_user.id, clock.now())
    if refusal:
        form.reason.errors = [refusal]
        return _review(dossier, form=form, status=409)
    get_db().commit()
    return back_to(
        url_for("dossier.queue"), f"Dossier de {dossier.user.display_name} : « Vérifié »."
    )


@bp.post(MANAGED + USER + "/a-corriger")
def send_back(user_id: int):
    """Mark the dossier "À corriger" with a reason, e-mailed to the intervenant."""
    dossier = _managed_dossier(user_id)
    form = DecisionForm()
    if form.validate_on_submit() and not (form.reason.data or "").strip():
        form.reason.errors = ["Indiquez le motif : il est envoyé à l'intervenant."]
    if form.errors or form.reason.errors:
        return _review(dossier, form=form, status=422)
    service.ask_correction(
        get_db(), dossier, form.reason.data.strip(), current_user.id, clock.now()
    )
    get_db().commit()
    return back_to(
        url_for("dossier.queue"), f"Dossier de {dossier.user.display_name} : « À corriger »."
    )


@bp.get(MANAGED + USER + "/pieces/<kind>")
def managed_document(user_id: int, kind: str):
    """One document of a dossier, for the gestionnaires of the owner's bureaus."""
    return _send(_document_of(_managed_dossier(user_id), kind))


# --- Documents ------------------------------------------------------------------------------


def _document_of(dossier: Dossier | None, kind: str) -> DossierDocument:
    if dossier is None or kind not in {k.value for k in DocumentKind}:
        abort(404)
    document = next((d for d in dossier.documents if d.kind == kind), None)
    if document is None:
        abort(404)
    return document


def _send(document: DossierDocument):
    """Stream the stored file as an attachment, sandboxed like a receipt."""
    try:
        stream = get_storage().open(document.stored_name)
    except (InvalidStoredName, FileNotFoundError):
        abort(404)
    response = send_file(
        stream,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.original_name,
        max_age=0,
        etag=document.sha256,
    )
    response.headers["Content-Disposition"] = attachment(document.original_name)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
