"""Typed SQLAlchemy models, one module per area of the domain."""

from imagin.models.claims import (
    AuditEvent,
    Claim,
    DeadlineReminder,
    Document,
    Expense,
    FrozenAmount,
    HoursLine,
    PaymentBatch,
    PaymentLine,
    ReceiptLink,
    TravelLeg,
)
from imagin.models.counts import ClaimCount
from imagin.models.dossier import Dossier, DossierDocument, DossierEvent
from imagin.models.identities import AuthEvent, PortalEstablishment, PortalIdentity
from imagin.models.mail import OutgoingMail, PasswordLinkRequest
from imagin.models.missions import (
    Exam,
    ExamCentre,
    ExamSession,
    Mission,
    MissionDay,
    MissionType,
    centre_chief,
)
from imagin.models.people import Bureau, User, bureau_member
from imagin.models.rates import RateRow

__all__ = [
    "AuditEvent",
    "AuthEvent",
    "Bureau",
    "Claim",
    "ClaimCount",
    "DeadlineReminder",
    "Document",
    "Dossier",
    "DossierDocument",
    "DossierEvent",
    "Exam",
    "ExamCentre",
    "ExamSession",
    "Expense",
    "FrozenAmount",
    "HoursLine",
    "Mission",
    "MissionDay",
    "MissionType",
    "OutgoingMail",
    "PasswordLinkRequest",
    "PaymentBatch",
    "PaymentLine",
    "PortalEstablishment",
    "PortalIdentity",
    "RateRow",
    "ReceiptLink",
    "TravelLeg",
    "User",
    "bureau_member",
    "centre_chief",
]
