"""The dossier financier as the pages and the export see it: facts gathered, numbers decrypted.

The rule (when it is needed) is ``imagin.domain.dossier``'s; this module reads the
facts it needs from the database, and is the only place that encrypts or decrypts
the NIR, the IBAN and the BIC (``imagin.crypto``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Select, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from imagin.crypto import Keyring, keyring_from_config
from imagin.db import read_all
from imagin.documents.checks import CheckedFile
from imagin.domain.bank_details import mask_bic, mask_iban, mask_nir
from imagin.domain.dossier import (
    DEFAULT_VALIDITY_MONTHS,
    DocumentKind,
    DossierFacts,
    DossierNeed,
    DossierStatus,
    Need,
    dossier_need,
    status_after_edit,
)
from imagin.models import (
    Claim,
    Dossier,
    DossierDocument,
    DossierEvent,
    Mission,
    PaymentBatch,
    PaymentLine,
    User,
)
from imagin.storage import Storage

ENCRYPTED = ("nir", "iban", "bic")
# Fields whose change is "the address changed" for the rule.
ADDRESS_FIELDS = frozenset({"address", "postal_code", "city", "country"})
_KEYRING = "imagin.keyring"


def keyring(app: Flask | None = None) -> Keyring:
    """The app's data keys, read once per process (``IMAGIN_DATA_KEY`` or the instance file)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    ring = app.extensions.get(_KEYRING)
    if ring is None:
        ring = keyring_from_config(app.config.get("DATA_KEY"), Path(app.instance_path))
        app.extensions[_KEYRING] = ring
    return ring


def validity_months(app: Flask | None = None) -> int:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return int(app.config.get("DOSSIER_VALIDITY_MONTHS") or DEFAULT_VALIDITY_MONTHS)


def _context(dossier: Dossier, column: str) -> str:
    # Binds a ciphertext to its column and its owner: copied elsewhere, it does not decrypt.
    return f"dossier_financier.{column}:{dossier.user_id}"


def seal(dossier: Dossier, column: str, value: str | None, ring: Keyring) -> None:
    """Store ``value`` encrypted in ``column`` (None clears it)."""
    setattr(
        dossier, column, None if value is None else ring.encrypt(value, _context(dossier, column))
    )


def unseal(dossier: Dossier, column: str, ring: Keyring) -> str | None:
    stored = getattr(dossier, column)
    return None if stored is None else ring.decrypt(stored, _context(dossier, column))


@dataclass(frozen=True)
class Numbers:
    """The decrypted numbers: only for the owner's checks, the verifier and the export."""

    nir: str | None
    iban: str | None
    bic: str | None

    @property
    def masked(self) -> Numbers:
        return Numbers(mask_nir(self.nir), mask_iban(self.iban), mask_bic(self.bic))


def numbers(dossier: Dossier | None, ring: Keyring) -> Numbers:
    if dossier is None:
        return Numbers(None, None, None)
    return Numbers(*(unseal(dossier, column, ring) for column in ENCRYPTED))


def get_dossier(db: Session, user_id: int) -> Dossier | None:
    return db.scalar(
        select(Dossier).where(Dossier.user_id == user_id).options(selectinload(Dossier.documents))
    )


def _last_paid(user_id_column):
    """SQL: the last time a part of one of the user's claims went into a payment batch."""
    return (
        select(func.max(PaymentBatch.created_at))
        .join(PaymentLine, PaymentLine.batch_id == PaymentBatch.id)
        .join(Claim, Claim.id == PaymentLine.claim_id)
        .join(Mission, Mission.id == Claim.mission_id)
        .where(Mission.intervenant_id == user_id_column)
        .scalar_subquery()
    )


def last_paid_on(db: Session, user_id: int) -> dt.date | None:
    """The last day a part of one of the user's claims went into a payment batch."""
    last = db.scalar(select(_last_paid(user_id)))
    return last.date() if last else None


def facts_of(dossier: Dossier | None, paid_on: dt.date | None) -> DossierFacts:
    if dossier is None:
        return DossierFacts(None, last_paid_on=paid_on)
    return _facts(
        dossier.status,
        dossier.submitted_at,
        dossier.verified_at,
        dossier.changed_since_verified,
        paid_on,
    )


def _facts(
    status: str | None,
    submitted_at: dt.datetime | None,
    verified_at: dt.datetime | None,
    changed_since_verified: bool,
    paid_on: dt.date | None,
) -> DossierFacts:
    """The facts of a dossier's columns; ``status`` None: there is no dossier."""
    if status is None:
        return DossierFacts(None, last_paid_on=paid_on)
    return DossierFacts(
        DossierStatus(status),
        submitted_on=submitted_at.date() if submitted_at else None,
        verified_on=verified_at.date() if verified_at else None,
        last_paid_on=paid_on,
        changed_since_verified=changed_since_verified,
    )


def need_of(db: Session | None, user_id: int, today: dt.date) -> DossierNeed:
    """Whether the user's dossier is to provide, correct, renew or check, today (one query,
    once per request: the mission page's notice and its validation ask the same).

    ``db`` None: read outside any transaction, as a page that only reads does
    (``imagin.db.read_all``; in the request's session once it has one)."""
    cache = g.setdefault("dossier_needs", {}) if has_request_context() else {}
    if (user_id, today) not in cache:
        cache[(user_id, today)] = _need_of(db, user_id, today)
    return cache[(user_id, today)]


@functools.cache
def _need_statement() -> Select:
    """The dossier's columns the rule reads and the user's last payment, for one user."""
    return (
        select(
            Dossier.status,
            Dossier.submitted_at,
            Dossier.verified_at,
            Dossier.changed_since_verified,
            _last_paid(User.id),
        )
        .select_from(User)
        .outerjoin(Dossier, Dossier.user_id == User.id)
        .where(User.id == bindparam("user_id"))
    )


def _need_of(db: Session | None, user_id: int, today: dt.date) -> DossierNeed:
    # Every mission page asks (its banner): columns, from a statement built once — the ORM
    # query, built and run at each request, was 18 % of the list's cProfile, 5 % now.
    rows = read_all(_need_statement(), {"user_id": user_id}, db)
    status, submitted_at, verified_at, changed, last = rows[0] if rows else (None,) * 5
    facts = _facts(status, submitted_at, verified_at, bool(changed), last.date() if last else None)
    return dossier_need(facts, today, validity_months())


def needs_of(db: Session, user_ids: Iterable[int], today: dt.date) -> dict[int, DossierNeed]:
    """The same for several users in one query (the payment page and export)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(User.id, Dossier, _last_paid(User.id))
        .select_from(User)
        .outerjoin(Dossier, Dossier.user_id == User.id)
        .where(User.id.in_(ids))
    ).all()
    months = validity_months()
    return {
        user_id: dossier_need(facts_of(dossier, last.date() if last else None), today, months)
        for user_id, dossier, last in rows
    }


def record(
    db: Session,
    dossier_or_user_id: Dossier | int,
    action: str,
    *,
    actor_id: int | None,
    at: dt.datetime,
    before: str | None = None,
    after: str | None = None,
    reason: str | None = None,
) -> None:
    """Add an event to the dossier's audit trail (never a number in it)."""
    user_id = (
        dossier_or_user_id.user_id
        if isinstance(dossier_or_user_id, Dossier)
        else dossier_or_user_id
    )
    db.add(
        DossierEvent(
            user_id=user_id,
            actor_id=actor_id,
            at=at,
            action=action,
            before=before,
            after=after,
            reason=reason,
        )
    )


def managed_owner(user_id_column):
    """SQL: the user has a mission in one of the current gestionnaire's bureaus."""
    from imagin.manage.access import managed_missions

    return exists().where(Mission.intervenant_id == user_id_column, managed_missions())


# --- The DEC's queue ----------------------------------------------------------------------------

# What needs the DEC comes first: transmitted, then sent back, then not yet provided,
# then verified. Within a status, the oldest first (the longest waiting).
QUEUE_ORDER = (
    DossierStatus.SUBMITTED,
    DossierStatus.TO_CORRECT,
    DossierStatus.TO_PROVIDE,
    DossierStatus.VERIFIED,
)


@dataclass(frozen=True)
class QueuePage:
    """One page of the DEC's queue: its dossiers, the counts by status for the search."""

    dossiers: list[Dossier]
    counts: dict[DossierStatus, int]
    total: int
    page: int
    pages: int


def _name_matches(words: list[str]):
    """SQL: every word typed is in the intervenant's last name, first name or e-mail."""
    columns = (func.lower(User.last_name), func.lower(User.first_name), func.lower(User.email))
    return and_(
        *(or_(*(column.contains(word, autoescape=True) for column in columns)) for word in words)
    )


def queue_page(
    db: Session, status: DossierStatus | None, name: str, *, page: int, per_page: int
) -> QueuePage:
    """The dossiers of the gestionnaire's bureaus' intervenants, in the queue's order.

    Three queries whatever the rows: the counts by status (which give the total), the
    page's dossiers with their owners, and their documents.
    """
    conditions = [managed_owner(Dossier.user_id)]
    words = name.lower().split()[:5]
    if words:
        conditions.append(Dossier.user_id.in_(select(User.id).where(_name_matches(words))))
    counts = dict.fromkeys(QUEUE_ORDER, 0)
    for value, count in db.execute(
        select(Dossier.status, func.count()).where(*conditions).group_by(Dossier.status)
    ):
        if value in counts:
            counts[DossierStatus(value)] = count
    total = counts[status] if status else sum(counts.values())
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    if status:
        conditions.append(Dossier.status == status.value)
    rank = case({s.value: n for n, s in enumerate(QUEUE_ORDER)}, value=Dossier.status, else_=9)
    dossiers = (
        db.scalars(
            select(Dossier)
            .where(*conditions)
            .options(selectinload(Dossier.user), selectinload(Dossier.documents))
            .order_by(rank, func.coalesce(Dossier.submitted_at, Dossier.updated_at), Dossier.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        if total
        else []
    )
    return QueuePage(list(dossiers), counts, total, page, pages)


# --- Changes ----------------------------------------------------------------------------------


def is_complete(dossier: Dossier) -> bool:
    """Every number typed and the three documents uploaded: ready for the DEC."""
    kinds = {document.kind for document in dossier.documents}
    return all(getattr(dossier, column) for column in ENCRYPTED) and kinds >= {
        kind.value for kind in DocumentKind
    }


def save_dossier(
    db: Session,
    storage: Storage,
    user: User,
    typed: dict,
    cleaned: dict[str, str],
    files: dict[DocumentKind, CheckedFile],
    ring: Keyring,
    now: dt.datetime,
    today: dt.date,
) -> DossierStatus:
    """Save what the intervenant typed and sent (all checked); commits. Returns the status.

    Documents replace those of the same kind; the files replaced are removed once the
    commit has succeeded, the new ones if it failed.
    """
    dossier = get_dossier(db, user.id)
    if dossier is None:
        dossier = Dossier(user_id=user.id, status=DossierStatus.TO_PROVIDE)
        db.add(dossier)
        db.flush()
    before = DossierStatus(dossier.status)
    stale = (
        dossier_need(facts_of(dossier, last_paid_on(db, user.id)), today, validity_months()).need
        is Need.STALE
    )
    old = numbers(dossier, ring)
    changed: set[str] = set()
    for name, value in typed.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(dossier, name) != value:
            changed.add("address" if name in ADDRESS_FIELDS else name)
            setattr(dossier, name, value)
    for column in ENCRYPTED:
        if getattr(old, column) != cleaned[column]:
            changed.add(column)
            seal(dossier, column, cleaned[column], ring)
    written: list[str] = []
    replaced: list[str] = []
    try:
        for kind, checked in files.items():
            stored = storage.save_bytes(checked.data, extension=checked.extension)
            written.append(stored.name)
            previous = next((d for d in dossier.documents if d.kind == kind), None)
            if previous is not None:
                replaced.append(previous.stored_name)
                dossier.documents.remove(previous)
                db.flush()
            dossier.documents.append(
                DossierDocument(
                    kind=kind,
                    original_name=checked.display_name,
                    stored_name=stored.name,
                    content_type=checked.content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    uploaded_at=now,
                )
            )
            changed.add(f"document:{kind}")
        db.flush()
        after = status_after_edit(before, changed, complete=is_complete(dossier), stale=stale)
        if after is DossierStatus.SUBMITTED and (before is not after or changed):
            dossier.submitted_at = now
        if before is DossierStatus.VERIFIED and after is DossierStatus.SUBMITTED:
            dossier.changed_since_verified = True
        if after is not before or changed:
            dossier.status = after
            dossier.updated_at = now
            record(
                db,
                dossier,
                "submit" if after is DossierStatus.SUBMITTED else "save",
                actor_id=user.id,
                at=now,
                before=before,
                after=after,
            )
        db.commit()
    except Exception:
        db.rollback()
        for name in written:
            storage.delete(name)
        raise
    for name in replaced:
        storage.delete(name)
    return DossierStatus(dossier.status)


def verify(db: Session, dossier: Dossier, actor_id: int, now: dt.datetime) -> str | None:
    """Mark the dossier "Vérifié"; the reason it cannot be, or None. The caller commits."""
    if dossier.status != DossierStatus.SUBMITTED:
        return (
            f"Ce dossier est « {DossierStatus(dossier.status).label} » : seul un dossier "
            "« Transmis » peut être vérifié."
        )
    if not is_complete(dossier):
        return "Ce dossier est incomplet (un numéro ou une pièce manque) : il ne peut être vérifié."
    record(
        db,
        dossier,
        "verify",
        actor_id=actor_id,
        at=now,
        before=dossier.status,
        after=DossierStatus.VERIFIED,
    )
    dossier.status = DossierStatus.VERIFIED
    dossier.verified_at = now
    dossier.verified_by_id = actor_id
    dossier.changed_since_verified = False
    dossier.correction_reason = None
    return None


def ask_correction(
    db: Session, dossier: Dossier, reason: str, actor_id: int, now: dt.datetime
) -> None:
    """Mark the dossier "À corriger" and e-mail the reason (never a number) to its owner."""
    from imagin.mail import queue_mail
    from imagin.notifications import SIGNATURE, external_url

    record(
        db,
        dossier,
        "correct",
        actor_id=actor_id,
        at=now,
        before=dossier.status,
        after=DossierStatus.TO_CORRECT,
        reason=reason,
    )
    dossier.status = DossierStatus.TO_CORRECT
    dossier.correction_reason = reason
    user = dossier.user
    queue_mail(
        db,
        user.email,
        "À corriger — votre dossier financier",
        "\n".join(
            [
                f"Bonjour {user.display_name},",
                "",
                "La DEC vous demande de corriger votre dossier financier "
                "(statut « À corriger ») : vos états de frais ne peuvent être payés avant.",
                "",
                "Motif :",
                reason,
                "",
                f"Votre dossier financier : {external_url('dossier.edit')}",
                "",
                SIGNATURE,
            ]
        ),
    )


# --- Payment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payee:
    """What the payment file says of whom it pays: from the verified dossier, in clear."""

    beneficiary: str
    nir: str
    iban: str
    bic: str


def payees(db: Session, user_ids: set[int]) -> dict[int, Payee]:
    """The payees of these users (their dossiers decrypted), in one query."""
    ring = keyring()
    found = {}
    for dossier in db.scalars(select(Dossier).where(Dossier.user_id.in_(user_ids))):
        values = numbers(dossier, ring)
        found[dossier.user_id] = Payee(
            dossier.holder_name, values.nir or "", values.iban or "", values.bic or ""
        )
    return found


def seal_batch_csv(batch_id: int, text: str) -> str:
    return keyring().encrypt(text, f"payment_batch.csv:{batch_id}")


def batch_csv_text(batch_id: int, stored: str) -> str:
    """A batch's CSV as exported: decrypted (batches before the dossier were kept in clear)."""
    if not stored.startswith("v1."):
        return stored
    return keyring().decrypt(stored, f"payment_batch.csv:{batch_id}")
