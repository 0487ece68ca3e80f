"""Whether the upload folder and the document rows agree, and the repair when they do not.

- A file without a row (a crash between writing the file and committing the row)
  is removed, once older than the grace delay: a younger one may belong to an
  upload that is committing right now.
- A stale temporary file (an interrupted write) is removed the same way.
- A row whose file is missing cannot be repaired: the file is lost. The row is
  deleted so that the claim no longer lists a document nobody can open, and an
  AuditEvent ("document_lost") keeps its name, size and hash in the claim's
  history, so the intervenant can be asked for it again.
- Files whose name Storage did not generate are only reported, never touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from imagin.documents.service import document_event
from imagin.models import Claim, Document, DossierDocument
from imagin.storage import FolderEntry, Storage

log = logging.getLogger(__name__)

DEFAULT_GRACE = dt.timedelta(minutes=15)
LOST_ACTION = "document_lost"
LOST_REASON = "Fichier introuvable dans le stockage : pièce retirée par la vérification."


@dataclass(frozen=True)
class LostDocument:
    """A row whose file is missing."""

    document_id: int
    claim_id: int
    mission_id: int
    stored_name: str
    original_name: str


@dataclass
class ConsistencyReport:
    """What the check found, and whether it repaired it."""

    orphan_files: list[str] = field(default_factory=list)
    recent_files: list[str] = field(default_factory=list)
    temporary_files: list[str] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    lost_documents: list[LostDocument] = field(default_factory=list)
    altered_files: list[str] = field(default_factory=list)
    failed_repairs: list[str] = field(default_factory=list)
    repaired: bool = False

    @property
    def consistent(self) -> bool:
        """True when nothing needs (or, after a repair, needed) attention."""
        return not (
            self.orphan_files or self.temporary_files or self.lost_documents or self.altered_files
        )

    @property
    def needs_attention(self) -> bool:
        """True when something is still wrong after this run."""
        if self.altered_files or self.failed_repairs:
            return True
        return not self.consistent and not self.repaired


def check_storage(
    db: Session,
    storage: Storage,
    *,
    repair: bool = False,
    verify: bool = False,
    grace: dt.timedelta = DEFAULT_GRACE,
    now: dt.datetime | None = None,
) -> ConsistencyReport:
    """Compare the folder with the document rows; with repair, fix what can be fixed."""
    now = now or dt.datetime.now(dt.UTC)
    report = ConsistencyReport(repaired=repair)
    # Files first, rows second: a file written in between is simply not seen,
    # and a row committed in between is re-checked against the disk below.
    entries = list(storage.entries())
    rows = db.execute(
        select(
            Document.id,
            Document.claim_id,
            Claim.mission_id,
            Document.stored_name,
            Document.original_name,
            Document.size,
            Document.sha256,
        ).join(Claim, Document.claim_id == Claim.id)
    ).all()
    # The dossiers financiers' documents share the storage: theirs are no orphans.
    dossier_files = set(db.scalars(select(DossierDocument.stored_name)))
    # Not holding a transaction (SQLite's write lock) while the disk is read.
    db.rollback()
    known = {row.stored_name for row in rows} | dossier_files

    stale: list[FolderEntry] = []
    for entry in entries:
        if entry.is_temporary:
            if now - entry.modified_at > grace:
                report.temporary_files.append(entry.name)
                stale.append(entry)
        elif not entry.is_generated:
            report.unknown_files.append(entry.name)
        elif entry.name not in known:
            if now - entry.modified_at > grace:
                report.orphan_files.append(entry.name)
                stale.append(entry)
            else:
                report.recent_files.append(entry.name)

    on_disk = {entry.name for entry in entries}
    for row in rows:
        if row.stored_name in on_disk or storage.exists(row.stored_name):
            if verify and _altered(storage, row.stored_name, row.size, row.sha256):
                report.altered_files.append(row.stored_name)
            continue
        report.lost_documents.append(
            LostDocument(row.id, row.claim_id, row.mission_id, row.stored_name, row.original_name)
        )

    if repair:
        for entry in stale:
            try:
                storage.delete_entry(entry)
            except OSError as error:
                report.failed_repairs.append(f"{entry.name} ({error.strerror or error})")
                continue
            log.warning("Stockage : fichier sans pièce supprimé : %s", entry.name)
        _forget_lost(db, storage, report.lost_documents)
    return report


def _altered(storage: Storage, stored_name: str, size: int, sha256: str) -> bool:
    digest = hashlib.sha256()
    read = 0
    with storage.open(stored_name) as stream:
        while chunk := stream.read(64 * 1024):
            digest.update(chunk)
            read += len(chunk)
    return read != size or digest.hexdigest() != sha256


def _forget_lost(db: Session, storage: Storage, lost: list[LostDocument]) -> None:
    """Delete the rows of lost files, each with an AuditEvent in its claim's history."""
    if not lost:
        return
    for item in lost:
        document = db.get(Document, item.document_id)
        # Deleted meanwhile, or its file is back (restored from a backup): leave it.
        if document is None or storage.exists(document.stored_name):
            continue
        db.add(
            document_event(
                document,
                LOST_ACTION,
                mission_id=item.mission_id,
                actor_id=None,
                reason=LOST_REASON,
            )
        )
        db.delete(document)
        log.warning(
            "Stockage : pièce %s (« %s ») sans fichier, retirée du dossier %s.",
            item.document_id,
            item.original_name,
            item.claim_id,
        )
    db.commit()
