"""Keeping a checked document: quota, duplicates, and the file and its row committed together.

The file is written first, under its final name, then the row is committed with
the AuditEvent that puts it in the claim's history. If the commit fails the file
is removed, so the worst a crash can leave is a file without a row, which
``imagin documents check --repair`` removes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imagin.documents.checks import CheckedFile
from imagin.documents.errors import (
    QUOTA_BYTES,
    QUOTA_FILES,
    DuplicateDocument,
    QuotaExceeded,
    format_size,
)
from imagin.models import AuditEvent, Claim, Document, ReceiptLink
from imagin.storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quota:
    """How many documents, and how many stored bytes in all, one claim may hold."""

    max_files: int
    max_bytes: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Quota:
        return cls(int(config["MAX_DOCUMENTS_PER_CLAIM"]), int(config["MAX_BYTES_PER_CLAIM"]))


def check_quota(db: Session, claim_id: int, new_size: int, quota: Quota) -> None:
    """Raise QuotaExceeded if adding new_size bytes would pass the claim's quota."""
    count, total = db.execute(
        select(func.count(Document.id), func.coalesce(func.sum(Document.size), 0)).where(
            Document.claim_id == claim_id
        )
    ).one()
    if count >= quota.max_files:
        raise QuotaExceeded(QUOTA_FILES.format(count=quota.max_files))
    if total + new_size > quota.max_bytes:
        raise QuotaExceeded(QUOTA_BYTES.format(size=format_size(quota.max_bytes)))


def find_duplicate(db: Session, claim_id: int, sha256: str) -> Document | None:
    return db.scalar(
        select(Document).where(Document.claim_id == claim_id, Document.sha256 == sha256)
    )


ADDED_ACTION = "document_added"
DELETED_ACTION = "document_deleted"


def document_detail(document: Document) -> dict[str, Any]:
    """What the history keeps of a document: enough to know it again once it is gone."""
    return {
        "document_id": document.id,
        "original_name": document.original_name,
        "stored_name": document.stored_name,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "receipts": [str(ref) for ref in document.refs],
        "uploaded_at": document.uploaded_at.isoformat() if document.uploaded_at else None,
    }


def document_event(
    document: Document, action: str, *, mission_id: int, actor_id: int | None, **fields: Any
) -> AuditEvent:
    """The AuditEvent of something that happened to a document, on the travel part."""
    return AuditEvent(
        mission_id=mission_id,
        actor_id=actor_id,
        action=action,
        part="travel",
        detail=document_detail(document),
        **fields,
    )


def store_document(
    db: Session,
    storage: Storage,
    claim: Claim,
    checked: CheckedFile,
    *,
    quota: Quota,
    now: dt.datetime,
    uploaded_by_id: int | None = None,
    links: Sequence[ReceiptLink] = (),
) -> Document:
    """Write the file and commit its row and AuditEvent, or leave neither; commits the session.

    :raise DuplicateDocument: the same content is already in this claim.
    :raise QuotaExceeded: the claim holds as many files or bytes as allowed.
    """
    # Lock the claim row (PostgreSQL; SQLite's write transaction already does),
    # so two uploads at once cannot both pass the quota.
    db.execute(select(Claim.id).where(Claim.id == claim.id).with_for_update())
    existing = find_duplicate(db, claim.id, checked.sha256)
    if existing is not None:
        raise DuplicateDocument(existing.original_name, existing.id)
    check_quota(db, claim.id, checked.size, quota)

    stored = storage.save_bytes(checked.data, extension=checked.extension)
    document = Document(
        original_name=checked.display_name,
        stored_name=stored.name,
        content_type=checked.content_type,
        size=stored.size,
        sha256=stored.sha256,
        links=list(links),
        uploaded_by_id=uploaded_by_id,
        # Not the column's default, the database's clock (UTC for SQLite): the app's.
        uploaded_at=now,
    )
    try:
        claim.documents.append(document)
        db.flush()  # the history keeps the document's id
        db.add(
            document_event(
                document, ADDED_ACTION, mission_id=claim.mission_id, actor_id=uploaded_by_id, at=now
            )
        )
        db.commit()
    except IntegrityError:
        db.rollback()
        _discard_unless_recorded(db, storage, stored.name)
        # The same file sent twice at once: the unique (claim, sha256) caught the second.
        existing = find_duplicate(db, claim.id, stored.sha256)
        if existing is not None:
            raise DuplicateDocument(existing.original_name, existing.id) from None
        raise
    except Exception:
        db.rollback()
        _discard_unless_recorded(db, storage, stored.name)
        raise
    return document


def _discard_unless_recorded(db: Session, storage: Storage, stored_name: str) -> None:
    """Remove the file of a failed commit, unless the row did get committed after all."""
    # A commit whose connection broke may have succeeded: a row without its file
    # could not be repaired, while a file without its row is removed by the check.
    try:
        recorded = db.scalar(select(Document.id).where(Document.stored_name == stored_name))
        db.rollback()
    except Exception:
        log.warning(
            "Pièce %s : enregistrement incertain, fichier laissé à « imagin documents check ».",
            stored_name,
        )
        return
    if recorded is None:
        storage.delete(stored_name)


def delete_document(
    db: Session, storage: Storage, document: Document, *, actor_id: int, now: dt.datetime
) -> None:
    """Delete the row and record it in the history, then the file (at worst a stray file)."""
    stored_name = document.stored_name
    mission_id = db.scalar(select(Claim.mission_id).where(Claim.id == document.claim_id))
    db.add(
        document_event(document, DELETED_ACTION, mission_id=mission_id, actor_id=actor_id, at=now)
    )
    db.delete(document)
    db.commit()
    try:
        storage.delete(stored_name)
    except OSError:
        log.warning(
            "Pièce %s : fichier non supprimé, laissé à « imagin documents check ».", stored_name
        )
