"""The DEC back office: the queue of claims, a claim's review, and the payment export."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from imagin import clock
from imagin.centre.service import dec_may_certify, record_service_fait
from imagin.claims import deadlines
from imagin.claims.editing import STALE_FOR_MANAGER, commit, deadline_state
from imagin.claims.rates import load_rates
from imagin.claims.validation import check_claim
from imagin.db import get_db, read_without_transaction
from imagin.documents.page import documents_view
from imagin.domain.deadlines import reopen_errors
from imagin.domain.roles import Role
from imagin.domain.service_fait import Certifier, ServiceFaitAction, ServiceFaitRefused
from imagin.domain.status import Part, PartStatus, effective_status
from imagin.dossier.service import batch_csv_text
from imagin.manage import review
from imagin.manage.access import (
    get_managed_mission,
    managed_bureau_ids,
    managed_missions,
    require_manager,
)
from imagin.manage.forms import (
    ApproveForm,
    BulkForm,
    ExportForm,
    QueueFilterForm,
    ReasonForm,
    ReopenForm,
)
from imagin.manage.payment import (
    ExportRefused,
    dossier_refusals,
    export_parts,
    managed_batches,
    payable_parts,
)
from imagin.manage.queries import (
    QueueRow,
    filter_choices,
    queue,
    status_counts,
)
from imagin.missions.queries import WHOLE_CLAIM, correction_reason, history
from imagin.models import Bureau, Mission, PaymentBatch
from imagin.notifications import MESSAGE_LOADING
from imagin.rendering import back_to, refuse_conflicts, render_page

bp = Blueprint("manage", __name__, url_prefix="/gestion")

MISSION_URL = "/missions/<int(max=2147483647):number>"
# The part in URLs, in the words of the tabs.
PARTS_BY_SLUG = {part.slug: part for part in Part}


@bp.before_request
@login_required
def check_manager() -> None:
    """Every /gestion page is for gestionnaires (and admins) only; others get a 404."""
    require_manager()


@bp.get("")
def index():
    """The queue of claims of the gestionnaire's bureaus, with counts and filters."""
    read_without_transaction()
    form = QueueFilterForm(request.args)
    form.set_choices(*filter_choices())
    filters, page = form.cleaned()
    today = clock.today()
    result = queue(filters, page=page, per_page=current_app.config["CLAIMS_PER_PAGE"], today=today)
    return render_page(
        "manage/index.html",
        "results",
        form=form,
        result=result,
        rows=[QueueRow.of(mission, today, Role(current_user.role)) for mission in result.missions],
        counts=status_counts(),
        statuses=[status for status in PartStatus if status is not PartStatus.IN_PROGRESS],
        bulk_form=BulkForm(),
        query_args={k: v for k, v in request.args.items() if k != "page" and v},
    )


def _review(mission, *, message: str | None = None, forms=None, status: int = 200):
    """The review page of a claim: both parts, their receipts and documents, the actions."""
    db = get_db()
    today = clock.today()
    claim = mission.claim
    check = check_claim(db, mission, load_rates(db), today)
    version = {"version": claim.version}
    forms = forms or {}
    role = Role(current_user.role)
    return render_page(
        "manage/claim.html",
        status=status,
        mission=mission,
        claim=claim,
        pay=check.pay,
        travel=check.travel,
        pieces=documents_view(mission, check.travel, check.receipts),
        history_events=history(mission.id),
        statuses={
            part.value: effective_status(
                claim.pay if part is Part.PAY else claim.travel, mission.ends_on, today
            )
            for part in Part
        },
        actions=review.actions(mission, role, check),
        reasons={
            Part.PAY.value: correction_reason(claim.pay, claim.pay_reason),
            Part.TRAVEL.value: correction_reason(claim.travel, claim.travel_reason),
        },
        may_cancel=review.may_cancel(mission, role),
        approve_form=ApproveForm(data=version),
        reason_forms={
            part.value: forms.get(part.value) or ReasonForm(data=version, prefix=part.value)
            for part in Part
        },
        cancel_form=forms.get("cancel") or ReasonForm(data=version, prefix="cancel"),
        service_fait_waits={
            part.value: review.waiting_for_service_fait(mission, part) for part in Part
        },
        may_certify=dec_may_certify(mission, current_user, today),
        service_fait_form=forms.get("sf") or ReasonForm(prefix="sf"),
        message=message,
        parts=list(Part),
        deadline=deadline_state(claim, today),
        reopen_form=forms.get("reopen") or ReopenForm(data=version),
    )


def _review_conflict(message: str, number: int, slug: str | None = None):
    return _review(get_managed_mission(number), message=message)


@bp.get(MISSION_URL)
def claim(number: int):
    """A claim to review: both parts, amounts with their reasons, receipts, documents, history."""
    return _review(get_managed_mission(number))


def _part(slug: str) -> Part:
    if slug not in PARTS_BY_SLUG:
        abort(404)
    return PARTS_BY_SLUG[slug]


def _reviewed(number: int, message: str):
    return back_to(url_for("manage.claim", number=number), message)


@bp.post(MISSION_URL + "/<slug>/valider")
@refuse_conflicts(_review_conflict)
def approve(number: int, slug: str):
    """Validate one part of a claim ("Validé par gestionnaire")."""
    part = _part(slug)
    db = get_db()
    mission = get_managed_mission(number)
    form = ApproveForm()
    review.approve(
        db,
        mission,
        part,
        current_user,
        version=form.version.data,
        rates=load_rates(db),
        now=clock.now(),
    )
    commit(db, role=Role(current_user.role))
    return _reviewed(number, f"Mission {number} : frais de {part.label} validés.")


@bp.post(MISSION_URL + "/<slug>/renvoyer")
@refuse_conflicts(_review_conflict)
def send_back(number: int, slug: str):
    """Send one part back to the intervenant for correction, with the required reason."""
    part = _part(slug)
    db = get_db()
    mission = get_managed_mission(number)
    form = ReasonForm(prefix=part.value)
    if not form.validate():
        return _review(mission, status=422, forms={part.value: form})
    review.send_back(
        db,
        mission,
        part,
        current_user,
        form.reason.data,
        version=form.version.data,
        now=clock.now(),
    )
    commit(db, role=Role(current_user.role))
    return _reviewed(number, f"Mission {number} : frais de {part.label} renvoyés pour correction.")


@bp.post(MISSION_URL + "/annuler")
@refuse_conflicts(_review_conflict)
def cancel(number: int):
    """Cancel a mission, with the required reason: both parts become "Annulé"."""
    db = get_db()
    mission = get_managed_mission(number)
    form = ReasonForm(prefix="cancel")
    if not form.validate():
        return _review(mission, status=422, forms={"cancel": form})
    review.cancel(
        db, mission, current_user, form.reason.data, version=form.version.data, now=clock.now()
    )
    commit(db, role=Role(current_user.role))
    return _reviewed(number, f"Mission {number} annulée.")


@bp.post(MISSION_URL + "/service-fait")
def certify_service_fait(number: int):
    """Certify the service fait on the centre's behalf, with the required reason."""
    db = get_db()
    mission = get_managed_mission(number)
    form = ReasonForm(prefix="sf")
    if not form.validate():
        return _review(mission, status=422, forms={"sf": form})
    try:
        record_service_fait(
            db,
            mission,
            ServiceFaitAction.CERTIFY,
            current_user,
            Certifier.DEC,
            now=clock.now(),
            reason=form.reason.data,
        )
    except ServiceFaitRefused as refusal:
        db.rollback()
        return _review(get_managed_mission(number), message=refusal.message, status=409)
    db.commit()
    return _reviewed(number, f"Mission {number} : service fait certifié pour le centre.")


@bp.post("/validation-groupee")
def bulk_approve():
    """Validate every part of the ticked claims that can be; say what was done and refused."""
    db = get_db()
    form = BulkForm()
    form.validate()
    numbers = sorted({n for n in (form.selected.data or []) if 0 < n < 2**31})
    if not numbers:
        return back_to(
            url_for("manage.index"), "Cochez au moins un état de frais à valider.", "error"
        )
    missions = (
        db.scalars(
            select(Mission)
            .where(Mission.number.in_(numbers), managed_missions())
            .options(*MESSAGE_LOADING, *WHOLE_CLAIM)
            .order_by(Mission.number)
        )
        .unique()
        .all()
    )
    found = {m.number for m in missions}
    try:
        # Queuing the e-mails flushes the approvals: a claim changed meanwhile (the same
        # approval sent twice at once) shows there already, not only at the commit.
        result = review.bulk_approve(
            db, missions, current_user, rates=load_rates(db), now=clock.now()
        )
        db.commit()
    except StaleDataError:
        db.rollback()
        return back_to(url_for("manage.index"), STALE_FOR_MANAGER, "error")
    refused = [
        f"Mission {number} : introuvable dans vos bureaux."
        for number in numbers
        if number not in found
    ] + result.refused
    flash(f"{len(result.done)} partie(s) validée(s), {len(refused)} refusée(s).", "info")
    for line in result.done:
        flash(line, "success")
    for line in refused:
        flash(line, "error")
    return back_to(url_for("manage.index"))


def _bureaus():
    return (
        get_db()
        .scalars(select(Bureau).where(Bureau.id.in_(managed_bureau_ids())).order_by(Bureau.code))
        .all()
    )


@bp.route("/paiement", methods=["GET", "POST"])
def payment():
    """Choose the parts validated by the DEC and export them to payroll as one batch."""
    db = get_db()
    bureaus = _bureaus()
    if not bureaus:
        abort(404)
    wanted = request.values.get("bureau", type=int)
    bureau = next((b for b in bureaus if b.id == wanted), bureaus[0])
    form = ExportForm()
    message = None
    status = 200
    if request.method == "POST":
        try:
            batch = export_parts(db, form.selected.data or [], bureau.id, current_user, clock.now())
            db.commit()
        except ExportRefused as refused:
            db.rollback()
            message, status = refused.message, 409
        except (IntegrityError, StaleDataError):
            db.rollback()
            message, status = "Ces états de frais viennent d'être exportés par ailleurs.", 409
        else:
            return back_to(
                url_for("manage.batches"),
                f"Lot n° {batch.id} créé : {len(batch.lines)} partie(s) mise(s) en paiement.",
            )
    parts = payable_parts(db, bureau.id)
    return render_page(
        "manage/payment.html",
        status=status,
        parts=parts,
        dossiers=dossier_refusals(db, parts, clock.today()),
        bureaus=bureaus,
        bureau=bureau,
        form=form,
        message=message,
    )


@bp.get("/paiement/lots")
def batches():
    """The payment batches already exported, to download again."""
    return render_page("manage/batches.html", batches=managed_batches(get_db()))


@bp.get("/paiement/lots/<int(max=2147483647):batch_id>.csv")
def batch_csv(batch_id: int):
    """Download a payment batch's CSV again, exactly as it was exported."""
    batch = get_db().scalar(
        select(PaymentBatch).where(
            PaymentBatch.id == batch_id, PaymentBatch.bureau_id.in_(managed_bureau_ids())
        )
    )
    if batch is None:
        abort(404)
    response = make_response(batch_csv_text(batch.id, batch.csv).encode("utf-8"))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="paiement-lot-{batch.id}.csv"'
    return response


@bp.post(MISSION_URL + "/rouvrir")
@refuse_conflicts(_review_conflict)
def reopen(number: int):
    """Reopen a claim past its closing date to the intervenant: a reason and a new date."""
    db = get_db()
    mission = get_managed_mission(number)
    form = ReopenForm()
    form.validate()
    try:
        if form.until.raw_data and form.until.raw_data[0] and form.until.data is None:
            # A date the keyboard typed wrong is said next to its field, with the others.
            raise deadlines.ReopenRefused(
                {
                    **reopen_errors(form.reason.data or "", None, clock.today()),
                    "until": "Date invalide : jj/mm/aaaa attendu (ex. 15/09/2026).",
                }
            )
        deadlines.reopen(
            db,
            mission,
            current_user,
            form.reason.data or "",
            form.until.data,
            version=form.version.data,
            now=clock.now(),
        )
    except deadlines.ReopenRefused as refused:
        form.reason.errors = [refused.errors["reason"]] if "reason" in refused.errors else []
        form.until.errors = [refused.errors["until"]] if "until" in refused.errors else []
        return _review(mission, status=422, forms={"reopen": form})
    commit(db, role=Role(current_user.role))
    return _reviewed(
        number,
        f"Mission {number} : état de frais rouvert à l'intervenant jusqu'au "
        f"{form.until.data:%d/%m/%Y} inclus.",
    )
