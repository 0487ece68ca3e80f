"""Personal data over time: the right of access (a ZIP of everything held about someone)
and the purge of what is past the retention period the académie sets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import zipfile
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from imagin.crypto import Keyring
from imagin.documents.service import delete_document
from imagin.dossier.service import get_dossier, numbers, record
from imagin.models import (
    AuditEvent,
    Claim,
    Document,
    Dossier,
    DossierEvent,
    Mission,
    PaymentBatch,
    User,
)
from imagin.storage import InvalidStoredName, Storage

log = logging.getLogger(__name__)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _csv(rows: list[dict[str, Any]]) -> str:
    output = io.StringIO()
    if rows:
        writer = csv.DictWriter(output, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows({k: _iso(v) for k, v in row.items()} for row in rows)
    return "\ufeff" + output.getvalue()


def access_zip(db: Session, storage: Storage, user: User, ring: Keyring) -> bytes:
    """Everything IMAG'IN holds about ``user``: JSON, CSV tables, and his documents."""
    dossier = get_dossier(db, user.id)
    values = numbers(dossier, ring)
    missions = db.scalars(
        select(Mission)
        .where(Mission.intervenant_id == user.id)
        .options(
            selectinload(Mission.claim).selectinload(Claim.documents),
            selectinload(Mission.exam),
            selectinload(Mission.session),
        )
        .order_by(Mission.number)
    ).all()
    account = {
        "adresse_electronique": user.email,
        "prenom": user.first_name,
        "nom": user.last_name,
        "role": user.role,
        "commune_residence_familiale": user.family_commune,
        "commune_residence_administrative": user.admin_commune,
        "puissance_fiscale_cv": user.vehicle_cv,
        "compte_cree_le": _iso(user.created_at),
    }
    dossier_data = None
    if dossier is not None:
        dossier_data = {
            "statut": dossier.status,
            "civilite": dossier.civility,
            "nom_de_naissance": dossier.birth_name,
            "nom_d_usage": dossier.used_name,
            "prenoms": dossier.first_names,
            "date_de_naissance": _iso(dossier.birth_date),
            "lieu_de_naissance": dossier.birth_place,
            "adresse": dossier.address,
            "code_postal": dossier.postal_code,
            "commune": dossier.city,
            "pays": dossier.country,
            "titulaire_du_compte": dossier.holder_name,
            "nir": values.nir,
            "iban": values.iban,
            "bic": values.bic,
            "transmis_le": _iso(dossier.submitted_at),
            "verifie_le": _iso(dossier.verified_at),
            "motif_de_correction": dossier.correction_reason,
            "pieces": [
                {"type": d.kind, "nom": d.original_name, "deposee_le": _iso(d.uploaded_at)}
                for d in dossier.documents
            ],
        }
    mission_rows = [
        {
            "mission": m.number,
            "examen": m.exam.name,
            "session": m.session.label,
            "debut": m.starts_on,
            "fin": m.ends_on,
            "statut_remuneration": m.claim.pay_status if m.claim else "",
            "statut_deplacement": m.claim.travel_status if m.claim else "",
            "montant_remuneration_centimes": m.claim.pay_amount_cents if m.claim else None,
            "montant_deplacement_centimes": m.claim.travel_amount_cents if m.claim else None,
        }
        for m in missions
    ]
    events = [
        {"quand": e.at, "action": e.action, "avant": e.before, "apres": e.after, "motif": e.reason}
        for e in db.scalars(
            select(DossierEvent).where(DossierEvent.user_id == user.id).order_by(DossierEvent.at)
        )
    ]
    claim_events = [
        {
            "mission": number,
            "quand": e.at,
            "action": e.action,
            "partie": e.part,
            "avant": e.before,
            "apres": e.after,
            "motif": e.reason,
        }
        for e, number in db.execute(
            select(AuditEvent, Mission.number)
            .join(Mission, Mission.id == AuditEvent.mission_id)
            .where(Mission.intervenant_id == user.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    ]
    data = {
        "genere_le": _iso(dt.datetime.now(dt.UTC)),
        "compte": account,
        "dossier_financier": dossier_data,
        "missions": [{k: _iso(v) for k, v in row.items()} for row in mission_rows],
        "historique_dossier": [{k: _iso(v) for k, v in row.items()} for row in events],
        "historique_etats_de_frais": [{k: _iso(v) for k, v in r.items()} for r in claim_events],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("donnees.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("compte.csv", _csv([account]))
        if dossier_data:
            flat = {k: v for k, v in dossier_data.items() if k != "pieces"}
            archive.writestr("dossier_financier.csv", _csv([flat]))
        archive.writestr("missions.csv", _csv(mission_rows))
        archive.writestr("historique.csv", _csv(claim_events))
        files = [
            (f"dossier_financier/{d.kind}-{d.original_name}", d.stored_name)
            for d in (dossier.documents if dossier else [])
        ]
        files += [
            (f"missions/{m.number}/{d.id}-{d.original_name}", d.stored_name)
            for m in missions
            if m.claim
            for d in m.claim.documents
        ]
        for name, stored_name in files:
            try:
                with storage.open(stored_name) as stream:
                    archive.writestr(name, stream.read())
            except (InvalidStoredName, FileNotFoundError):
                log.warning("Droit d'accès : fichier %s introuvable.", stored_name)
    return buffer.getvalue()


def purge(
    db: Session, storage: Storage, older_than_years: int, now: dt.datetime
) -> tuple[int, int, int]:
    """Remove what is past retention; keep amounts and the audit trail.

    - claim documents of missions ended more than ``older_than_years`` ago;
    - dossiers financiers (and their documents) neither changed nor paid since then;
    - the numbers quoted by payment files older than that (the amounts stay in
      the batch's lines).

    Returns (documents, dossiers, batches) removed or emptied.
    """
    cutoff = now - dt.timedelta(days=round(365.25 * older_than_years))
    documents = 0
    for document in db.scalars(
        select(Document)
        .join(Claim, Claim.id == Document.claim_id)
        .join(Mission, Mission.id == Claim.mission_id)
        .where(Mission.ends_on < cutoff.date())
    ).all():
        delete_document(db, storage, document, actor_id=None, now=now)
        documents += 1
    from imagin.dossier.service import _last_paid

    dossiers = 0
    stale = db.scalars(
        select(Dossier)
        .where(
            func.coalesce(Dossier.verified_at, Dossier.submitted_at, Dossier.updated_at) < cutoff,
            Dossier.updated_at < cutoff,
            func.coalesce(_last_paid(Dossier.user_id), cutoff - dt.timedelta(days=1)) < cutoff,
        )
        .options(selectinload(Dossier.documents))
    ).all()
    for dossier in stale:
        names = [d.stored_name for d in dossier.documents]
        record(db, dossier, "purge", actor_id=None, at=now, before=dossier.status)
        db.delete(dossier)
        db.commit()
        for name in names:
            try:
                storage.delete(name)
            except OSError:
                log.warning("Purge : fichier %s non supprimé.", name)
        dossiers += 1
    batches = 0
    for batch in db.scalars(
        select(PaymentBatch).where(PaymentBatch.created_at < cutoff, PaymentBatch.csv != "")
    ).all():
        batch.csv = ""
        batches += 1
    db.commit()
    return documents, dossiers, batches
