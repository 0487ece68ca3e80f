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
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from imagin import clock
from imagin.claims.editing import ANY_VERSION, closed_by_deadline, commit, ensure_editable
from imagin.claims.rates import load_rates
from imagin.db import finish_reading, get_db, reads_first
from imagin.documents.bundle import build_bundle, claim_summary_lines
from imagin.documents.checks import CheckedFile, display_name, inspect_upload
from imagin.documents.errors import (
    DocumentRefused,
    DuplicateDocument,
    format_size,
    too_big_message,
)
from imagin.documents.page import (
    DocumentsView,
    document_type,
    documents_view,
    download_name,
    max_upload_bytes,
)
from imagin.documents.receipts import new_links, parse_refs, set_links
from imagin.documents.service import Quota, delete_document, store_document
from imagin.domain.status import Part, edit_refusal
from imagin.manage.access import get_managed_mission, managed_missions, require_manager
from imagin.missions.queries import WHOLE_CLAIM, get_own_mission
from imagin.models import Claim, Document, Mission
from imagin.rendering import (
    Event,
    back_to,
    fragment,
    part,
    refuse_conflicts,
    render_page,
    wants_fragment,
)
from imagin.storage import InvalidStoredName, get_storage
from imagin.too_large import form_message, passed_limit
from imagin.travel.service import travel_view

bp = Blueprint("documents", __name__)

NUMBER = "<int(max=2147483647):number>"
DOCUMENT = "/<int(max=2147483647):document_id>"
OWN = f"/missions/{NUMBER}/pieces"
MANAGED = f"/gestion/missions/{NUMBER}/pieces"
NO_TRAVEL = "Cette mission ne donne pas droit au remboursement des frais de déplacement."
REQUEST_TOO_LARGE = (
    "Ce que vous avez envoyé dépasse {size} en tout : envoyez les fichiers en plusieurs fois "
    "({each} au plus chacun)."
)
# Flash categories shown inside the documents section, where the upload form is
# (base.html leaves them out of the top of the page): the redirect lands there.
MESSAGES = "pieces-messages"
SUCCESS, ERROR = "pieces-success", "pieces-error"
LINKS_SAVED = "Ce que « {name} » justifie est enregistré."
# An upload's answer goes beside its file's name, in its own row, whatever its status.
BESIDE_THE_FILE = {"HX-Retarget": "next .upload__message", "HX-Reswap": "outerHTML"}

bp.add_app_template_global(documents_view)
bp.add_app_template_filter(document_type)
bp.add_app_template_filter(download_name)
bp.add_app_template_filter(format_size, "file_size")


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


@bp.url_value_preprocessor
def allow_a_claims_worth_of_files(endpoint: str | None, _values) -> None:
    """An upload may carry several files at once: a claim's quota, not one request's limit."""
    # Here, not in before_request: url_value_preprocessors run before every
    # before_request, and CSRFProtect's reads the form, under the limit then in force.
    if endpoint == "documents.upload":
        request.max_content_length = int(current_app.config["MAX_UPLOAD_REQUEST_BYTES"])


# --- Loading, with access checked in the query ------------------------------------------------


def _own_mission(number: int) -> Mission:
    """The intervenant's mission with what the section needs (404 for anybody else's)."""
    return get_own_mission(number, current_user.id, *WHOLE_CLAIM)


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


def _section_url(number: int, anchor: str = "pieces") -> str:
    return url_for("travel.deplacement", number=number, _anchor=anchor)


def _refusal(mission: Mission) -> str:
    if not mission.travel_applies:
        return NO_TRAVEL
    return closed_by_deadline(mission.claim) or edit_refusal(mission.claim.travel)


# --- Upload -----------------------------------------------------------------------------------


def _upload_conflict(message: str, number: int):
    return _refused(number, [message], 409)


@bp.post(OWN)
@refuse_conflicts(_upload_conflict)
def upload(number: int):
    """Keep the files sent: one per request under HTMX, every file of the form without."""
    # Checking a file may take seconds: it runs between a read transaction and the
    # short write of each file, never while the database is locked for writing.
    reads_first()
    mission = _own_mission(number)
    pieces = _view(mission)
    form = pieces.form()
    if not pieces.editable:
        return _refused(number, [_refusal(mission)], 409)
    # Adding a document overwrites nothing typed elsewhere: any version of the page may.
    ensure_editable(mission.claim, Part.TRAVEL, ANY_VERSION)
    if not form.validate():
        return _refused(number, [*form.receipts.errors, *form.files.errors], 422)
    refs = parse_refs(form.receipts.data or [], pieces.receipts) or []
    finish_reading()
    checked = [(display_name(upload.filename), _check(upload)) for upload in form.uploads]
    outcomes = [(name, _keep(mission.claim, result, refs, pieces)) for name, result in checked]
    if not wants_fragment():
        for name, outcome in outcomes:
            _flash_outcome(number, name, outcome, refs)
        return back_to(_section_url(number, MESSAGES))
    stored = [outcome for _name, outcome in outcomes if isinstance(outcome, Document)]
    refused = [(n, o) for n, o in outcomes if isinstance(o, DocumentRefused)]
    events = [Event.DOCUMENTS_CHANGED] if stored else []
    if len(outcomes) == 1 and isinstance(refused[:1] and refused[0][1], DuplicateDocument):
        # The same file is already in the claim: offer to link it to what was chosen.
        return _duplicate_offer(mission, pieces, refused[0][1], refs)
    if refused:
        # The page sends one file per request; a client sending several gets every
        # refusal beside its row, and the files kept in the list on its next load.
        several = len(outcomes) > 1
        messages = [f"« {name} » : {o.message}" if several else o.message for name, o in refused]
        return _refused(number, messages, refused[0][1].status, events=events)
    pieces = _view(_own_mission(number))
    return fragment(
        "documents/_document_rows.html",
        mission=mission,
        pieces=pieces,
        documents=stored,
        events=events,
    )


def _check(upload) -> CheckedFile | DocumentRefused:
    """Check one uploaded file, outside any transaction: what to store, or why not."""
    try:
        # The stream as Werkzeug spooled it: inspect_upload reads it once, up to the limit.
        return inspect_upload(upload.stream, upload.filename, max_bytes=max_upload_bytes())
    except DocumentRefused as refused:
        return refused


def _keep(
    claim: Claim, checked: CheckedFile | DocumentRefused, refs, pieces: DocumentsView
) -> Document | DocumentRefused:
    """Store one checked file with its links in a short write transaction, or say why not."""
    if isinstance(checked, DocumentRefused):
        return checked
    db = get_db()
    try:
        # The first statement takes the write lock (and the row's, on PostgreSQL): the
        # claim as it is now, since it may have been submitted while the file was checked.
        db.refresh(claim, with_for_update=True)
        ensure_editable(claim, Part.TRAVEL, ANY_VERSION)
        document = store_document(
            db,
            get_storage(),
            claim,
            checked,
            quota=Quota.from_config(current_app.config),
            now=clock.now(),
            uploaded_by_id=current_user.id,
            links=new_links(refs, pieces.receipts),
        )
    except DocumentRefused as refused:
        # Ends the transaction that locked the claim for the quota check, without
        # expiring what the page still has to show (a rollback would).
        db.commit()
        return refused
    return document


def _flash_outcome(number: int, name: str, outcome, refs) -> None:
    if isinstance(outcome, Document):
        flash(f"« {outcome.original_name} » envoyé.", SUCCESS)
    elif isinstance(outcome, DuplicateDocument) and outcome.existing_id is not None:
        link = url_for(
            "documents.links",
            number=number,
            document_id=outcome.existing_id,
            ajout=[str(ref) for ref in refs],
        )
        flash(
            Markup(
                "« {name} » est déjà déposé pour ce dossier (« {existing} ») : "
                '<a href="{link}">lier le document existant à ce que vous aviez coché</a>.'
            ).format(name=name, existing=outcome.existing_name, link=link),
            ERROR,
        )
    else:
        flash(f"« {name} » n'a pas été enregistré : {outcome.message}", ERROR)


def _refused(number: int, messages: list[str], status: int, *, events=()):
    """Why nothing (more) was kept: beside the file under HTMX, in the section without."""
    if not wants_fragment():
        for message in messages:
            flash(message, ERROR)
        return back_to(_section_url(number, MESSAGES))
    # Beside the file's name in its own row, whatever the status and whatever the
    # page's ``responseHandling`` does with errors.
    return fragment(
        "documents/_upload_error.html",
        status=status,
        messages=messages,
        events=events,
        headers=BESIDE_THE_FILE,
    )


def _duplicate_offer(mission, pieces: DocumentsView, refused: DuplicateDocument, refs):
    """The file is already there: its row says so and offers to link the existing document."""
    existing = _document_of(mission, refused.existing_id) if refused.existing_id else None
    if existing is None:
        return _refused(mission.number, [refused.message], refused.status)
    return fragment(
        "documents/_duplicate_offer.html",
        status=refused.status,
        mission=mission,
        pieces=pieces,
        document=existing,
        message=refused.message,
        form=pieces.links_form(existing, [str(ref) for ref in refs], formdata=None),
        headers=BESIDE_THE_FILE,
    )


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error: RequestEntityTooLarge):
    """A body over MAX_CONTENT_LENGTH (refused before any file of it was read), or a form
    of too many parts or with a field or a part's headers too long."""
    # Raised while CSRFProtect reads the form, before the view: Flask still picks
    # this handler, since the URL matched one of this blueprint's.
    number = (request.view_args or {}).get("number", 0)
    limit = int(request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"])
    form_limit = form_message(passed_limit(error, request), current_app.config)
    if form_limit is not None:
        message = form_limit
    elif wants_fragment():
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
        return back_to(_section_url(number))
    db = get_db()
    mission = _own_mission(number)
    travel = travel_view(db, mission, load_rates(db))
    return fragment("documents/_section.html", mission=mission, travel=travel)


@bp.get(OWN + "/demandees")
def needed(number: int):
    """The receipts asked for and the choice of what a document justifies, for HTMX to refresh."""
    if not wants_fragment():
        return back_to(_section_url(number))
    mission = _own_mission(number)
    pieces = _view(mission)
    return fragment(
        "documents/_needed.html",
        mission=mission,
        pieces=pieces,
        form=pieces.form(formdata=None),
    )


# --- What a document justifies ----------------------------------------------------------------


def _links_conflict(message: str, number: int, document_id: int):
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    return _links_page(mission, _view(mission), document, row_message=message)


def _links_page(mission, pieces, document, *, form=None, status=200, **extra):
    """The form of what a document justifies: its row in edit mode, or a page of its own."""
    form = form or pieces.links_form(document, request.args.getlist("ajout"), formdata=None)
    return render_page(
        "documents/links.html",
        "row",
        status=status,
        mission=mission,
        pieces=pieces,
        document=document,
        form=form,
        summary_of=[form],
        **extra,
    )


@bp.get(OWN + DOCUMENT + "/justifie")
def links(number: int, document_id: int):
    """Choose again what a document justifies (its row in edit mode under HTMX)."""
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    pieces = _view(mission)
    if not pieces.editable:
        if not wants_fragment():
            return back_to(
                _section_url(number, f"document-{document.id}"), _refusal(mission), ERROR
            )
        return _row(mission, pieces, document, status=409, row_message=_refusal(mission))
    return _links_page(mission, pieces, document)


@bp.post(OWN + DOCUMENT + "/justifie")
@refuse_conflicts(_links_conflict)
def save_links(number: int, document_id: int):
    """Save what a document justifies; also how a duplicate upload links the existing one."""
    db = get_db()
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    pieces = _view(mission)
    form = pieces.links_form(document)
    ensure_editable(mission.claim, Part.TRAVEL, ANY_VERSION)
    if not form.validate():
        return _links_page(mission, pieces, document, form=form, status=422)
    refs = parse_refs(form.receipts.data or [], pieces.receipts) or []
    set_links(mission.claim, document, refs, pieces.receipts)
    commit(db)
    message = LINKS_SAVED.format(name=document.original_name)
    if not wants_fragment():
        return back_to(_section_url(number, f"document-{document.id}"), message, SUCCESS)
    pieces = _view(_own_mission(number))
    if request.form.get("from") == "upload":
        # From the duplicate offer in an upload's row: that row goes, the existing one changes.
        return fragment(
            "",
            events=[Event.DOCUMENTS_CHANGED],
            oob=[
                part(
                    "documents/_document_row.html",
                    mission=mission,
                    pieces=pieces,
                    document=document,
                    oob=True,
                    row_message=message,
                    row_message_kind="success",
                )
            ],
        )
    return _row(
        mission,
        pieces,
        document,
        row_message=message,
        row_message_kind="success",
        events=[Event.DOCUMENTS_CHANGED],
    )


def _row(mission, pieces, document, *, status=200, events=(), **extra):
    return fragment(
        "documents/_document_row.html",
        status=status,
        mission=mission,
        pieces=pieces,
        document=document,
        focus=True,
        events=events,
        **extra,
    )


@bp.get(OWN + DOCUMENT + "/ligne")
def document_row(number: int, document_id: int):
    """Annuler of a document's links form: its row again; the section without JavaScript."""
    if not wants_fragment():
        return back_to(_section_url(number, f"document-{document_id}"))
    mission = _own_mission(number)
    return _row(mission, _view(mission), _document_of(mission, document_id))


# --- Delete -----------------------------------------------------------------------------------


@bp.get(OWN + DOCUMENT + "/supprimer")
def confirm_delete(number: int, document_id: int):
    """Ask before deleting a document (without JavaScript; HTMX asks with hx-confirm)."""
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    if not _view(mission).editable:
        return back_to(_section_url(number), _refusal(mission), ERROR)
    return render_page("documents/delete.html", mission=mission, document=document)


def _delete_conflict(message: str, number: int, document_id: int):
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    if not wants_fragment():
        return render_page(
            "documents/delete.html", mission=mission, document=document, conflict=message
        )
    return _row(mission, _view(mission), document, row_message=message)


@bp.post(OWN + DOCUMENT + "/supprimer")
@refuse_conflicts(_delete_conflict)
def delete(number: int, document_id: int):
    """Delete a document while the travel part can still change."""
    mission = _own_mission(number)
    document = _document_of(mission, document_id)
    ensure_editable(mission.claim, Part.TRAVEL, ANY_VERSION)
    name = document.original_name
    delete_document(get_db(), get_storage(), document, actor_id=current_user.id, now=clock.now())
    if not wants_fragment():
        return back_to(_section_url(number, MESSAGES), f"« {name} » supprimé.", SUCCESS)
    # An empty body: the row's outerHTML swap removes it.
    return fragment("", events=[Event.DOCUMENTS_CHANGED])


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
        justifies={document.id: pieces.justifies(document) for document in pieces.documents},
    )
    name = f"pieces-justificatives-mission-{mission.number}.pdf"
    response = send_file(
        output, mimetype="application/pdf", as_attachment=True, download_name=name, max_age=0
    )
    return _sandboxed(response, name)
