"""Supporting documents on the web: upload, delete, download, and the claim's PDF bundle.

Upload: under HTMX the page sends one file per request (app.js), and gets back
the document's row (200) or the reason it was refused (422, 413, or 409 once
the travel part is locked), which ``HX-Retarget`` puts beside the file's name
whatever the page's ``responseHandling`` does with errors. Without JavaScript
the form sends every file at once; each result becomes a flash message and
the answer is a 303 back to the section.

Download: only the intervenant of the mission and the gestionnaires of its
bureau (404 for anybody else, checked in the query), always as an attachment,
with ``Content-Security-Policy: sandbox`` so that a file opened in the browser
can run nothing with the site's rights.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import defaultload, joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from imagin import clock
from imagin.claims.service import LOCKED_MESSAGE, load_rates
from imagin.db import get_db
from imagin.documents.bundle import build_bundle, claim_summary_lines
from imagin.documents.checks import display_name, inspect_upload
from imagin.documents.errors import DocumentRefused, format_size, too_big_message
from imagin.documents.page import (
    DocumentsView,
    document_type,
    documents_editable,
    documents_view,
    download_name,
    max_upload_bytes,
)
from imagin.documents.service import Quota, delete_document, store_document
from imagin.manage.access import get_managed_mission, managed_missions, require_manager
from imagin.missions.queries import get_own_mission
from imagin.models import Claim, Document, Mission
from imagin.rendering import render_page, wants_fragment
from imagin.storage import InvalidStoredName, get_storage
from imagin.travel.service import loader_options, travel_view

bp = Blueprint("documents", __name__)

NUMBER = "<int(max=2147483647):number>"
DOCUMENT = "/<int(max=2147483647):document_id>"
OWN = f"/missions/{NUMBER}/pieces"
MANAGED = f"/gestion/missions/{NUMBER}/pieces"
CHANGED = "documentsChanged"
NO_TRAVEL = "Cette mission ne donne pas droit au remboursement des frais de déplacement."
REQUEST_TOO_LARGE = (
    "Ce que vous avez envoyé dépasse {size} en tout : envoyez les fichiers en plusieurs fois "
    "({each} au plus chacun)."
)

bp.add_app_template_global(documents_view)
bp.add_app_template_filter(document_type)
bp.add_app_template_filter(download_name)
bp.add_app_template_filter(format_size, "file_size")


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


# --- Loading, with access checked in the query ------------------------------------------------


def _own_mission(number: int) -> Mission:
    """The intervenant's mission with what the section needs (404 for anybody else's)."""
    claim = defaultload(Mission.claim)
    return get_own_mission(
        number,
        current_user.id,
        *loader_options(),
        claim.selectinload(Claim.documents),
        joinedload(Mission.intervenant),
    )


def _document(number: int, document_id: int, *condition) -> Document:
    """A document of mission ``number`` under ``condition``, in one query.

    :raise 404: no such document, or not in a mission the condition allows.
    """
    document = get_db().scalar(
        select(Document)
        .join(Claim, Document.claim_id == Claim.id)
        .join(Mission, Claim.mission_id == Mission.id)
        .where(Document.id == document_id, Mission.number == number, *condition)
    )
    if document is None:
        abort(404)
    return document


def _own_document(number: int, document_id: int) -> Document:
    """A document of the intervenant's own mission (:raise 404: anybody else's)."""
    return _document(number, document_id, Mission.intervenant_id == current_user.id)


def _document_of(mission: Mission, document_id: int) -> Document:
    """A document of this (already access-checked) mission's claim (:raise 404: another's)."""
    for document in mission.claim.documents:
        if document.id == document_id:
            return document
    abort(404)


def _view(mission: Mission) -> DocumentsView:
    db = get_db()
    return documents_view(mission, travel_view(db, mission, load_rates(db)))


def _tab_url(number: int) -> str:
    return url_for("travel.deplacement", number=number, _anchor="pieces")


def _back_to_section(number: int):
    response = redirect(_tab_url(number), 303)
    response.vary.add("HX-Request")
    return response


# --- Upload -----------------------------------------------------------------------------------


@bp.post(OWN)
def upload(number: int):
    """Keep the files sent: one per request under HTMX, every file of the form without."""
    mission = _own_mission(number)
    pieces = _view(mission)
    form = pieces.form()
    if not pieces.editable:
        return _refused(number, [LOCKED_MESSAGE if mission.travel_applies else NO_TRAVEL], 409)
    if not form.validate():
        return _refused(number, [*form.receipt.errors, *form.files.errors], 422)
    outcomes = [
        (display_name(upload.filename), _keep(mission.claim, upload, form.receipt.data))
        for upload in form.uploads
    ]
    if not wants_fragment():
        for name, outcome in outcomes:
            _flash_outcome(name, outcome)
        return _back_to_section(number)
    stored = [outcome for _name, outcome in outcomes if isinstance(outcome, Document)]
    refused = [(n, o) for n, o in outcomes if isinstance(o, DocumentRefused)]
    if refused:
        # The page sends one file per request; a client sending several gets every
        # refusal beside its row, and the files kept in the list on its next load.
        several = len(outcomes) > 1
        messages = [f"« {name} » : {o.message}" if several else o.message for name, o in refused]
        response = _refused(number, messages, refused[0][1].status)
    else:
        rows = [
            render_template(
                "documents/_document_row.html", mission=mission, pieces=pieces, document=d
            )
            for d in stored
        ]
        response = make_response("".join(rows))
    if stored:
        response.headers["HX-Trigger"] = CHANGED
    return response


def _keep(claim: Claim, upload, receipt: str) -> Document | DocumentRefused:
    """Check one uploaded file and store it, or return why it was refused."""
    db = get_db()
    try:
        # The stream as Werkzeug spooled it: inspect_upload reads it once, up to the limit.
        checked = inspect_upload(upload.stream, upload.filename, max_bytes=max_upload_bytes())
        document = store_document(
            db,
            get_storage(),
            claim,
            checked,
            quota=Quota.from_config(current_app.config),
            now=clock.now(),
            uploaded_by_id=current_user.id,
            receipt_key=receipt,
        )
    except DocumentRefused as refused:
        # Ends the transaction that locked the claim for the quota check, without
        # expiring what the page still has to show (a rollback would).
        db.commit()
        return refused
    return document


def _flash_outcome(name: str, outcome: Document | DocumentRefused) -> None:
    if isinstance(outcome, Document):
        flash(f"« {outcome.original_name} » envoyé.", "success")
    else:
        flash(f"« {name} » n'a pas été enregistré : {outcome.message}", "error")


def _refused(number: int, messages: list[str], status: int):
    """Why nothing (more) was kept: beside the file under HTMX, a flash message without."""
    if not wants_fragment():
        for message in messages:
            flash(message, "error")
        return _back_to_section(number)
    response = make_response(
        render_template("documents/_upload_error.html", messages=messages), status
    )
    # Beside the file's name in its own row, whatever the status (see the module's docstring).
    response.headers["HX-Retarget"] = "find .upload__message"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error: RequestEntityTooLarge):
    """A body over MAX_CONTENT_LENGTH, refused before any file of it was read."""
    # Raised while CSRFProtect reads the form, before the view: Flask still picks
    # this handler, since the URL matched one of this blueprint's.
    number = (request.view_args or {}).get("number", 0)
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    if wants_fragment():
        message = too_big_message(max_upload_bytes())
    else:
        message = REQUEST_TOO_LARGE.format(
            size=format_size(limit), each=format_size(max_upload_bytes())
        )
    return _refused(number, [message], 413)


@bp.get(OWN)
def section(number: int):
    """The whole documents section, which the Frais déplacement tab loads on its own under HTMX."""
    if not wants_fragment():
        return _back_to_section(number)
    db = get_db()
    mission = _own_mission(number)
    travel = travel_view(db, mission, load_rates(db))
    response = make_response(
        render_template("documents/_section.html", mission=mission, travel=travel)
    )
    response.vary.add("HX-Request")
    return response


@bp.get(OWN + "/demandees")
def needed(number: int):
    """The receipts asked for and the choice of what a document justifies, for HTMX to refresh."""
    if not wants_fragment():
        return _back_to_section(number)
    mission = _own_mission(number)
    pieces = _view(mission)
    response = make_response(
        render_template(
            "documents/_needed.html",
            mission=mission,
            pieces=pieces,
            form=pieces.form(formdata=None),
        )
    )
    response.vary.add("HX-Request")
    return response


# --- Delete -----------------------------------------------------------------------------------


@bp.get(OWN + DOCUMENT + "/supprimer")
def confirm_delete(number: int, document_id: int):
    """Ask before deleting a document (without JavaScript; HTMX asks with hx-confirm)."""
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    if not documents_editable(mission):
        flash(LOCKED_MESSAGE, "error")
        return _back_to_section(number)
    return render_page("documents/delete.html", mission=mission, document=document)


@bp.post(OWN + DOCUMENT + "/supprimer")
def delete(number: int, document_id: int):
    """Delete a document while the travel part can still change."""
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    if not documents_editable(mission):
        if not wants_fragment():
            return render_page(
                "documents/delete.html",
                status=409,
                mission=mission,
                document=document,
                conflict=LOCKED_MESSAGE,
            )
        row = render_template(
            "documents/_document_row.html",
            mission=mission,
            pieces=_view(mission),
            document=document,
            row_message=LOCKED_MESSAGE,
        )
        return make_response(row, 409)
    name = document.original_name
    delete_document(get_db(), get_storage(), document, actor_id=current_user.id, now=clock.now())
    if not wants_fragment():
        flash(f"« {name} » supprimé.", "success")
        return _back_to_section(number)
    # An empty body: the row's outerHTML swap removes it.
    response = make_response("")
    response.headers["HX-Trigger"] = CHANGED
    return response


# --- Download ---------------------------------------------------------------------------------


@bp.get(OWN + DOCUMENT)
def download(number: int, document_id: int):
    """One document of the intervenant's own mission, as an attachment."""
    return _send(_own_document(number, document_id))


@bp.get(OWN + ".pdf")
def bundle(number: int):
    """Every document of the claim in one PDF, after a page listing the claim and its receipts."""
    return _send_bundle(_own_mission(number))


@bp.get(MANAGED + DOCUMENT)
def managed_download(number: int, document_id: int):
    """One document of a mission of the gestionnaire's bureaus, as an attachment."""
    require_manager()
    return _send(_document(number, document_id, managed_missions()))


@bp.get(MANAGED + ".pdf")
def managed_bundle(number: int):
    """The claim's PDF bundle, for the gestionnaires of the mission's bureau."""
    require_manager()
    return _send_bundle(get_managed_mission(number))


def attachment(name: str) -> str:
    """Content-Disposition: an ASCII fallback, then the real name in UTF-8 (RFC 6266)."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback).strip(" .") or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _sandboxed(response, name: str):
    response.headers["Content-Disposition"] = attachment(name)
    # Replaces the site's policy (headers.py only sets it when absent): a document
    # opened in the browser anyway runs in an opaque origin, without scripts.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _send(document: Document):
    """Stream the stored file through the app (whatever the storage), as an attachment."""
    try:
        stream = get_storage().open(document.stored_name)
    except (InvalidStoredName, FileNotFoundError):
        # Lost since it was stored: ``imagin documents check`` reports it.
        abort(404)
    name = download_name(document)
    # max_age=0: personal documents are never kept by a shared cache (headers.py adds no-store).
    response = send_file(
        stream,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=name,
        max_age=0,
        etag=document.sha256,
    )
    response.content_length = document.size
    return _sandboxed(response, name)


def _send_bundle(mission: Mission):
    claim = mission.claim
    pieces = _view(mission)
    output = build_bundle(
        pieces.documents,
        get_storage(),
        claim_summary_lines(claim),
        receipt_labels=pieces.labels,
    )
    name = f"pieces-justificatives-mission-{mission.number}.pdf"
    response = send_file(
        output, mimetype="application/pdf", as_attachment=True, download_name=name, max_age=0
    )
    return _sandboxed(response, name)
