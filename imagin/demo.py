"""The demo data of DESIGN.md §1: ``imagin demo`` loads it, once.

Mission 621 is exactly the one of the product brief; the others show every
status and rule. Dates of the missions still to come are relative to the
day of loading, so "Mission en cours" stays true whenever the demo is loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imagin import clock
from imagin.domain.deadlines import default_closing_date
from imagin.domain.dossier import DocumentKind, DossierStatus
from imagin.domain.refs import ReceiptRef
from imagin.domain.roles import Role
from imagin.domain.service_fait import ServiceFait, ServiceFaitAction
from imagin.domain.status import Part
from imagin.domain.status import PartStatus as S
from imagin.domain.transitions import Action
from imagin.models import (
    AuditEvent,
    Bureau,
    Claim,
    Document,
    Dossier,
    DossierDocument,
    Exam,
    ExamCentre,
    ExamSession,
    Expense,
    FrozenAmount,
    HoursLine,
    Mission,
    MissionDay,
    MissionType,
    ReceiptLink,
    TravelLeg,
    User,
)
from imagin.storage import Storage

if TYPE_CHECKING:
    from imagin.crypto import Keyring

DEMO_PASSWORD = "imagin-demo"  # noqa: S105  (the documented demo password)

ACCOUNTS = (
    ("claire.martin@example.fr", Role.INTERVENANT, "Claire", "Martin"),
    ("paul.durand@example.fr", Role.INTERVENANT, "Paul", "Durand"),
    ("dec.orleans@example.fr", Role.GESTIONNAIRE, "Nadia", "Lefèvre"),
    ("admin@example.fr", Role.ADMIN, "Alex", "Admin"),
    ("chef.alencon@example.fr", Role.CHEF_CENTRE, "Henri", "Roussel"),
    # Her only mission (1150) is past its session's closing date: the DEC can reopen it.
    ("lucie.petit@example.fr", Role.INTERVENANT, "Lucie", "Petit"),
)
# The chef de centre's exam centres (both in Alençon).
CHIEF_CENTRES = ("06112932", "0610001A")
# Parts the DEC has or had to check: their centre certified the service fait (mission 621,
# still to enter, waits for it).
CERTIFIED_WHEN = frozenset({S.VALIDATED, S.APPROVED, S.IN_PAYMENT, S.NOT_DONE})

BUREAUS = (
    (
        "DEC2",
        "DEC 2 — Examens professionnels",
        "dec2@example.fr",
        "02 38 79 40 12",
        "21 rue Saint-Étienne, 45043 Orléans Cedex 1",
    ),
    (
        "DEC3",
        "DEC 3 — Baccalauréat général et technologique",
        "dec3@example.fr",
        "02 38 79 40 30",
        "21 rue Saint-Étienne, 45043 Orléans Cedex 1",
    ),
)

EXAMS = (
    ("CERTIFICAT DE FORMATION GENERALE", "hour:3"),
    ("BACCALAUREAT GENERAL", "copy:3"),
    ("CAP CUISINE", "hour:2"),
    ("DIPLOME NATIONAL DU BREVET", "NR"),
    ("BTS MANAGEMENT COMMERCIAL OPERATIONNEL", "hour:4"),
    ("BACCALAUREAT PROFESSIONNEL COMMERCE", "hour:3"),
    ("BTS COMPTABILITE ET GESTION", "copy:4"),
)

SESSIONS = (
    ("2022-12", "Session décembre 2022"),
    ("2023-06", "Session juin 2023"),
    ("2024-06", "Session juin 2024"),
    ("2025-06", "Session juin 2025"),
    ("2026-03", "Session mars 2026"),
    ("2026-06", "Session juin 2026"),
    ("2026-12", "Session décembre 2026"),
)

CENTRES = (
    ("06112932", "PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX", "ALENCON"),
    ("0610001A", "LYCEE ALAIN", "ALENCON"),
    ("0141555K", "LYCEE HOTELIER FRANCOIS RABELAIS", "HEROUVILLE-SAINT-CLAIR"),
    ("0500017X", "COLLEGE PIERRE ET MARIE CURIE", "SAINT-LO"),
    ("0140061H", "LYCEE MALHERBE", "CAEN"),
    ("0451526P", "LYCEE POTHIER", "ORLEANS"),
)

MISSION_TYPES = (
    ("Interrogation orale", "candidates_hours"),
    ("Correction de copies", "copies"),
    ("Épreuve pratique", "hours"),
    ("Surveillance", "hours"),
    ("Jury de délibération", "hours"),
)


@dataclass
class DemoMission:
    number: int
    owner: str
    exam: str
    session: str
    mission_type: str
    centre: str
    days: list[tuple[dt.date, dt.time]]
    specialite: str = ""
    epreuve_option: str = ""
    bureau: str = "DEC2"
    travel: bool = True
    pay: S = S.NOT_VALIDATED
    travel_status: S = S.NOT_VALIDATED
    done: bool | None = None
    copies: int | None = None
    candidates: int | None = None
    hours: list[tuple[dt.date, dt.time, dt.time]] = field(default_factory=list)
    # (departure, city, arrival, city, mode, km, fare in cents)
    legs: list[tuple[dt.datetime, str, dt.datetime, str, str, int | None, int | None]] = field(
        default_factory=list
    )
    # Meals: ("meal", day, "dejeuner"/"diner", taken); nights: ("night", day, commune, cents).
    expenses: list[tuple] = field(default_factory=list)
    travel_cents: int | None = None
    reason: str | None = None
    pay_cents: int | None = None
    history: list[tuple[str, str | None, S | None, S | None, str]] = field(default_factory=list)
    # Supporting documents: (file name, title, lines of text, what it justifies). Every
    # validated travel part has a document for each receipt its amounts need.
    documents: list[tuple[str, str, list[str], list]] = field(default_factory=list)


def session_closing_dates(today: dt.date) -> dict[str, dt.date]:
    """Closing dates of entries that show the deadlines whenever the demo is loaded.

    The December session holds the missions placed around ``today`` (1120, 1201): it
    closes 60 days after, so Claire reads "À valider avant le …". The March 2026 session
    closed on its default date (31 August), or yesterday if the demo is loaded before:
    Lucie's 1150, never entered, is closed to her and the DEC can reopen it. The other
    sessions keep no date, as sessions imported before closing dates existed: 621 stays
    open to Claire (and the missions other demos and tests enter stay open).
    """
    march = default_closing_date("2026-03", "Session mars 2026", dt.date(2026, 3, 1))
    return {
        "2026-12": today + dt.timedelta(days=60),
        "2026-03": min(march, today - dt.timedelta(days=1)),
    }


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def demo_missions(today: dt.date) -> list[DemoMission]:
    """The demo missions; those still to come are placed relative to ``today``."""
    d = dt.date
    t = dt.time
    soon = today + dt.timedelta(days=17)
    return [
        DemoMission(
            621,
            "claire.martin@example.fr",
            "CERTIFICAT DE FORMATION GENERALE",
            "2022-12",
            "Interrogation orale",
            "06112932",
            [(d(2022, 12, 2), t(9, 0))],
            specialite="CERTIFICAT DE FORMATION GENERALE",
            epreuve_option="1-001, ENTretien AVEC LE JURY",
        ),
        DemoMission(
            702,
            "claire.martin@example.fr",
            "BACCALAUREAT GENERAL",
            "2023-06",
            "Correction de copies",
            "0610001A",
            [(d(2023, 6, 15), t(8, 0))],
            specialite="PHILOSOPHIE",
            epreuve_option="Épreuve écrite de philosophie",
            bureau="DEC3",
            travel=False,
            pay=S.IN_PAYMENT,
            travel_status=S.NO_COSTS,
            done=True,
            copies=40,
            pay_cents=40 * 173,
            history=[
                ("validate", "pay", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
                ("approve", "pay", S.VALIDATED, S.APPROVED, "dec.orleans@example.fr"),
                ("pay", "pay", S.APPROVED, S.IN_PAYMENT, "dec.orleans@example.fr"),
            ],
        ),
        DemoMission(
            815,
            "claire.martin@example.fr",
            "CAP CUISINE",
            "2024-06",
            "Épreuve pratique",
            "0141555K",
            [(d(2024, 6, 12), t(8, 0))],
            specialite="CUISINE",
            epreuve_option="EP1 — Organisation de la production",
            pay=S.VALIDATED,
            travel_status=S.VALIDATED,
            done=True,
            hours=[(d(2024, 6, 12), t(8, 0), t(12, 0))],
            pay_cents=4 * 549,
            expenses=[("meal", d(2024, 6, 12), "dejeuner", "autre")],
            travel_cents=136 * 32 + 2000,
            # Meals need a receipt for missions from January to July 2024.
            documents=[
                (
                    "ticket-dejeuner-12-06-2024.pdf",
                    "Brasserie du Port — Hérouville-Saint-Clair",
                    ["12/06/2024 12:40", "Menu du jour : 21,50 €", "Payé par carte bancaire"],
                    [ReceiptRef.meal(d(2024, 6, 12), "dejeuner")],
                )
            ],
            legs=[
                (
                    _at(d(2024, 6, 12), 6, 45),
                    "SAINT-LO",
                    _at(d(2024, 6, 12), 7, 45),
                    "HEROUVILLE-SAINT-CLAIR",
                    "voiture",
                    68,
                    None,
                ),
                (
                    _at(d(2024, 6, 12), 13, 0),
                    "HEROUVILLE-SAINT-CLAIR",
                    _at(d(2024, 6, 12), 14, 10),
                    "SAINT-LO",
                    "voiture",
                    68,
                    None,
                ),
            ],
            history=[
                ("validate", "pay", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
                ("validate", "travel", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
            ],
        ),
        DemoMission(
            903,
            "claire.martin@example.fr",
            "DIPLOME NATIONAL DU BREVET",
            "2025-06",
            "Surveillance",
            "0500017X",
            [(d(2025, 6, 26), t(8, 30))],
            specialite="Épreuves écrites",
            travel=False,
            pay=S.NO_COSTS,
            travel_status=S.NO_COSTS,
        ),
        DemoMission(
            1004,
            "claire.martin@example.fr",
            "BTS MANAGEMENT COMMERCIAL OPERATIONNEL",
            "2025-06",
            "Jury de délibération",
            "0451526P",
            [(d(2025, 7, 3), t(9, 0)), (d(2025, 7, 4), t(8, 30))],
            specialite="MANAGEMENT COMMERCIAL OPERATIONNEL",
            epreuve_option="Jury final",
            bureau="DEC3",
            pay=S.TO_CORRECT,
            travel_status=S.APPROVED,
            done=True,
            hours=[(d(2025, 7, 3), t(9, 0), t(17, 0)), (d(2025, 7, 4), t(8, 30), t(12, 0))],
            reason="Les horaires du 04/07/2025 ne correspondent pas à la feuille d'émargement "
            "(fin à 12:30).",
            expenses=[
                ("meal", d(2025, 7, 2), "diner", "autre"),
                ("meal", d(2025, 7, 3), "dejeuner", "administratif"),
                ("meal", d(2025, 7, 3), "diner", "autre"),
                ("meal", d(2025, 7, 4), "dejeuner", "autre"),
                ("night", d(2025, 7, 2), "ORLEANS", 8500),
                ("night", d(2025, 7, 3), "ORLEANS", 8500),
            ],
            # 2 tickets of 58,40 €, 2 nights of 85 €, 3 meals of 20 € and one of 10 €.
            travel_cents=2 * 5840 + 2 * 8500 + 3 * 2000 + 1000,
            # One e-ticket for the way there and back, one invoice for both nights.
            documents=[
                (
                    "e-billet-saint-lo-orleans.pdf",
                    "E-billet aller-retour",
                    [
                        "Aller : 02/07/2025 17:10 SAINT-LO → 21:05 ORLEANS — 58,40 €",
                        "Retour : 04/07/2025 13:30 ORLEANS → 17:40 SAINT-LO — 58,40 €",
                    ],
                    ["leg:0", "leg:1"],
                ),
                (
                    "facture-hotel-orleans.pdf",
                    "Hôtel de la Cathédrale — Orléans",
                    ["Nuits du 02/07/2025 et du 03/07/2025", "2 × 85,00 € = 170,00 €"],
                    [ReceiptRef.night(d(2025, 7, 2)), ReceiptRef.night(d(2025, 7, 3))],
                ),
            ],
            legs=[
                (
                    _at(d(2025, 7, 2), 17, 10),
                    "SAINT-LO",
                    _at(d(2025, 7, 2), 21, 5),
                    "ORLEANS",
                    "train",
                    None,
                    5840,
                ),
                (
                    _at(d(2025, 7, 4), 13, 30),
                    "ORLEANS",
                    _at(d(2025, 7, 4), 17, 40),
                    "SAINT-LO",
                    "train",
                    None,
                    5840,
                ),
            ],
            history=[
                ("validate", "pay", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
                ("validate", "travel", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
                ("approve", "travel", S.VALIDATED, S.APPROVED, "dec.orleans@example.fr"),
                ("send_back", "pay", S.VALIDATED, S.TO_CORRECT, "dec.orleans@example.fr"),
            ],
        ),
        DemoMission(
            1010,
            "claire.martin@example.fr",
            "BACCALAUREAT PROFESSIONNEL COMMERCE",
            "2025-06",
            "Interrogation orale",
            "0140061H",
            [(d(2025, 6, 20), t(13, 30))],
            specialite="COMMERCE",
            epreuve_option="E31 — Vente en unité commerciale",
            pay=S.APPROVED,
            travel_status=S.APPROVED,
            done=True,
            candidates=6,
            hours=[(d(2025, 6, 20), t(13, 30), t(17, 30))],
            pay_cents=4 * 960,
            travel_cents=124 * 32,
            legs=[
                (
                    _at(d(2025, 6, 20), 12, 15),
                    "SAINT-LO",
                    _at(d(2025, 6, 20), 13, 15),
                    "CAEN",
                    "voiture",
                    62,
                    None,
                ),
                (
                    _at(d(2025, 6, 20), 17, 45),
                    "CAEN",
                    _at(d(2025, 6, 20), 18, 45),
                    "SAINT-LO",
                    "voiture",
                    62,
                    None,
                ),
            ],
            history=[
                ("validate", "pay", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
                ("validate", "travel", S.NOT_VALIDATED, S.VALIDATED, "claire.martin@example.fr"),
                ("approve", "pay", S.VALIDATED, S.APPROVED, "dec.orleans@example.fr"),
                ("approve", "travel", S.VALIDATED, S.APPROVED, "dec.orleans@example.fr"),
            ],
        ),
        DemoMission(
            1050,
            "claire.martin@example.fr",
            "CERTIFICAT DE FORMATION GENERALE",
            "2026-06",
            "Interrogation orale",
            "06112932",
            [(d(2026, 6, 5), t(9, 0))],
            specialite="CERTIFICAT DE FORMATION GENERALE",
            epreuve_option="1-001, ENTretien AVEC LE JURY",
            pay=S.CANCELLED,
            travel_status=S.CANCELLED,
            reason="Session reportée : aucun candidat inscrit.",
            history=[("cancel", None, S.NOT_VALIDATED, S.CANCELLED, "dec.orleans@example.fr")],
        ),
        DemoMission(
            1088,
            "claire.martin@example.fr",
            "CAP CUISINE",
            "2026-06",
            "Épreuve pratique",
            "0141555K",
            [(d(2026, 6, 10), t(8, 0))],
            specialite="CUISINE",
            pay=S.NOT_DONE,
            travel_status=S.NOT_DONE,
            done=False,
            history=[
                (
                    "declare_not_done",
                    "pay",
                    S.NOT_VALIDATED,
                    S.NOT_DONE,
                    "claire.martin@example.fr",
                ),
                (
                    "declare_not_done",
                    "travel",
                    S.NOT_VALIDATED,
                    S.NOT_DONE,
                    "claire.martin@example.fr",
                ),
            ],
        ),
        DemoMission(
            1120,
            "claire.martin@example.fr",
            "BACCALAUREAT GENERAL",
            "2026-12",
            "Correction de copies",
            "0610001A",
            [(soon, t(8, 0))],
            specialite="HISTOIRE-GEOGRAPHIE",
            epreuve_option="Épreuve écrite",
            bureau="DEC3",
            travel=False,
            travel_status=S.NO_COSTS,
        ),
        DemoMission(
            1201,
            "claire.martin@example.fr",
            "CERTIFICAT DE FORMATION GENERALE",
            "2026-12",
            "Jury de délibération",
            "0140061H",
            [(today - dt.timedelta(days=1), t(9, 0)), (today + dt.timedelta(days=1), t(9, 0))],
            specialite="CERTIFICAT DE FORMATION GENERALE",
            epreuve_option="Jury académique",
        ),
        DemoMission(
            640,
            "paul.durand@example.fr",
            "CERTIFICAT DE FORMATION GENERALE",
            "2022-12",
            "Interrogation orale",
            "06112932",
            [(d(2022, 12, 2), t(14, 0))],
            specialite="CERTIFICAT DE FORMATION GENERALE",
            epreuve_option="1-001, ENTretien AVEC LE JURY",
        ),
        DemoMission(
            1102,
            "paul.durand@example.fr",
            "BTS COMPTABILITE ET GESTION",
            "2026-06",
            "Correction de copies",
            "0140061H",
            [(d(2026, 6, 18), t(8, 0))],
            specialite="COMPTABILITE ET GESTION",
            epreuve_option="E4 — Gestion des obligations",
            travel=False,
            pay=S.VALIDATED,
            travel_status=S.NO_COSTS,
            done=True,
            copies=52,
            pay_cents=52 * 247,
            history=[
                ("validate", "pay", S.NOT_VALIDATED, S.VALIDATED, "paul.durand@example.fr"),
            ],
        ),
        DemoMission(
            1150,
            "lucie.petit@example.fr",
            "CAP CUISINE",
            "2026-03",
            "Épreuve pratique",
            "0141555K",
            [(d(2026, 3, 18), t(8, 0))],
            specialite="CUISINE",
            epreuve_option="EP2 — Réalisation d'un repas",
            travel=False,
            travel_status=S.NO_COSTS,
        ),
        DemoMission(
            1300,
            "paul.durand@example.fr",
            "BACCALAUREAT GENERAL",
            "2026-06",
            "Correction de copies",
            "0451526P",
            [(d(2026, 6, 17), t(8, 0))],
            specialite="SCIENCES ECONOMIQUES ET SOCIALES",
            epreuve_option="Épreuve écrite",
            bureau="DEC3",
            travel=False,
            travel_status=S.NO_COSTS,
        ),
    ]


def _by(session: Session, model, **criteria):
    return session.scalar(select(model).filter_by(**criteria))


def load_demo(
    session: Session,
    password_hash: str,
    today: dt.date,
    *,
    storage: Storage,
    keyring: Keyring | None = None,
) -> bool:
    """Load the demo data into an empty database; False (and nothing done) if it is there.

    The supporting documents are written to ``storage``. With ``keyring`` (the app's
    data keys), Claire gets a verified dossier financier; Paul never has one.
    """
    if session.scalar(select(func.count()).select_from(Mission).where(Mission.number == 621)):
        return False
    users = {}
    for email, role, first, last in ACCOUNTS:
        user = _by(session, User, email=email) or User(email=email)
        user.role, user.first_name, user.last_name = role, first, last
        user.password_hash = password_hash
        session.add(user)
        users[email] = user
    users["claire.martin@example.fr"].family_commune = "SAINT-LO"
    users["claire.martin@example.fr"].admin_commune = "SAINT-LO"
    users["claire.martin@example.fr"].vehicle_cv = 5
    users["paul.durand@example.fr"].family_commune = "CAEN"
    users["paul.durand@example.fr"].admin_commune = "CAEN"
    users["paul.durand@example.fr"].vehicle_cv = 6

    bureaus = {
        code: Bureau(code=code, name=n, email=e, phone=p, address=a) for code, n, e, p, a in BUREAUS
    }
    bureaus["DEC2"].members.append(users["dec.orleans@example.fr"])
    exams = {name: Exam(name=name, rate_class=rc) for name, rc in EXAMS}
    sessions = {code: ExamSession(code=code, label=label) for code, label in SESSIONS}
    for code, closes_on in session_closing_dates(today).items():
        sessions[code].entries_close_on = closes_on
    centres = {code: ExamCentre(code=code, name=n, commune=c) for code, n, c in CENTRES}
    for code in CHIEF_CENTRES:
        centres[code].chiefs.append(users["chef.alencon@example.fr"])
    types = {label: MissionType(label=label, pay_basis=b) for label, b in MISSION_TYPES}
    session.add_all(
        [*bureaus.values(), *exams.values(), *sessions.values(), *centres.values(), *types.values()]
    )

    added = [
        (spec, _add_mission(session, spec, users, bureaus, exams, sessions, centres, types))
        for spec in demo_missions(today)
    ]
    session.flush()
    for spec, mission in added:
        _add_documents(session, storage, spec, mission)
        _freeze_travel(session, spec, mission)
    if keyring is not None:
        _add_dossier(session, storage, keyring, users, today)
    session.commit()
    return True


# Obviously fake but valid numbers: the NIR's key is right (a woman born in March 1985),
# the IBAN is the Crédit Agricole's documentation example (key right, bank code 30006).
DEMO_NIR = "285037505612306"
DEMO_IBAN = "FR7630006000011234567890189"
DEMO_BIC = "AGRIFRPP"


def _add_dossier(session: Session, storage: Storage, keyring: Keyring, users, today: dt.date):
    """Claire's dossier financier, verified by the DEC, with its three documents."""
    from imagin.documents.bundle import text_pdf
    from imagin.dossier.service import record, seal

    claire = users["claire.martin@example.fr"]
    verified_at = _at(today - dt.timedelta(days=20), 11)
    dossier = Dossier(
        user_id=claire.id,
        status=DossierStatus.VERIFIED,
        civility="F",
        birth_name="MARTIN",
        first_names="Claire Anne",
        birth_date=dt.date(1985, 3, 2),
        birth_place="Paris (75)",
        address="12 rue des Lilas",
        postal_code="50000",
        city="SAINT-LO",
        holder_name="Claire MARTIN",
        submitted_at=_at(today - dt.timedelta(days=25), 18),
        verified_at=verified_at,
        verified_by_id=users["dec.orleans@example.fr"].id,
    )
    seal(dossier, "nir", DEMO_NIR, keyring)
    seal(dossier, "iban", DEMO_IBAN, keyring)
    seal(dossier, "bic", DEMO_BIC, keyring)
    for kind, name, title in (
        (DocumentKind.RIB, "rib-claire.pdf", "RIB (démonstration)"),
        (DocumentKind.VITALE, "attestation-vitale.pdf", "Attestation de droits (démonstration)"),
        (DocumentKind.NOTICE, "notice-individuelle.pdf", "Notice individuelle (démonstration)"),
    ):
        stored = storage.save_bytes(
            text_pdf(title, ["Claire MARTIN", "Document de démonstration"]), extension=".pdf"
        )
        dossier.documents.append(
            DossierDocument(
                kind=kind,
                original_name=name,
                stored_name=stored.name,
                content_type="application/pdf",
                size=stored.size,
                sha256=stored.sha256,
                uploaded_at=dossier.submitted_at,
            )
        )
    session.add(dossier)
    record(
        session,
        claire.id,
        "submit",
        actor_id=claire.id,
        at=dossier.submitted_at,
        after=DossierStatus.SUBMITTED,
    )
    record(
        session,
        claire.id,
        "verify",
        actor_id=dossier.verified_by_id,
        at=verified_at,
        before=DossierStatus.SUBMITTED,
        after=DossierStatus.VERIFIED,
    )


def _add_mission(session, spec: DemoMission, users, bureaus, exams, sessions, centres, types):
    first_day = min(day for day, _ in spec.days)
    last_day = max(day for day, _ in spec.days)
    mission = Mission(
        number=spec.number,
        intervenant=users[spec.owner],
        exam=exams[spec.exam],
        session=sessions[spec.session],
        mission_type=types[spec.mission_type],
        centre=centres[spec.centre],
        bureau=bureaus[spec.bureau],
        specialite=spec.specialite,
        epreuve_option=spec.epreuve_option,
        pay_applies=exams[spec.exam].rate_class != "NR",
        travel_applies=spec.travel,
        cancelled=spec.pay is S.CANCELLED,
        cancel_reason=spec.reason if spec.pay is S.CANCELLED else None,
        starts_on=first_day,
        ends_on=last_day,
        days=[MissionDay(day=day, start_time=start) for day, start in spec.days],
    )
    claim = Claim(
        pay_status=spec.pay,
        travel_status=spec.travel_status,
        done=spec.done,
        copies=spec.copies,
        candidates=spec.candidates,
        pay_reason=spec.reason if spec.pay is S.TO_CORRECT else None,
        pay_amount_cents=spec.pay_cents,
        hours=[HoursLine(day=day, start=s, end=e) for day, s, e in spec.hours],
        legs=[
            TravelLeg(
                departure_at=dep,
                departure_city=dc,
                arrival_at=arr,
                arrival_city=ac,
                mode=mode,
                km=km,
                fare_cents=fare,
            )
            for dep, dc, arr, ac, mode, km, fare in spec.legs
        ],
        expenses=[_expense(*expense) for expense in spec.expenses],
        travel_amount_cents=spec.travel_cents,
    )
    mission.claim = claim
    session.add(mission)
    convoked = _at(first_day - dt.timedelta(days=30), 10)
    session.add(AuditEvent(mission=mission, action="convocation", at=convoked))
    if {spec.pay, spec.travel_status} & CERTIFIED_WHEN:
        chief = users["chef.alencon@example.fr"] if spec.centre in CHIEF_CENTRES else None
        mission.service_fait = ServiceFait.CERTIFIED.value
        mission.service_fait_at = _at(last_day + dt.timedelta(days=1), 9)
        mission.service_fait_by = chief
        session.add(
            AuditEvent(
                mission=mission,
                action=ServiceFaitAction.CERTIFY.value,
                actor=chief,
                detail={"before": ServiceFait.PENDING.value, "after": ServiceFait.CERTIFIED.value},
                at=mission.service_fait_at,
            )
        )
    owner = users[spec.owner]
    for step, (action, part, before, after, actor) in enumerate(spec.history, start=1):
        # What the travel amounts were computed from, as validation records it: no car km
        # was validated before these missions in their years.
        detail = (
            {
                "family_commune": owner.family_commune,
                "admin_commune": owner.admin_commune,
                "vehicle_cv": owner.vehicle_cv,
                "km_before": 0,
                "amount_cents": spec.travel_cents,
            }
            if (action, part) == ("validate", "travel")
            else None
        )
        session.add(
            AuditEvent(
                mission=mission,
                action=action,
                part=part,
                before=before,
                after=after,
                actor=users[actor],
                at=_at(last_day + dt.timedelta(days=step), 9 + step),
                reason=spec.reason if action in ("send_back", "cancel") else None,
                detail=detail,
            )
        )
    if spec.history and spec.history[0][0] in ("validate", "declare_not_done"):
        claim.validated_at = _at(last_day + dt.timedelta(days=1), 10)
        claim.validated_by = users[spec.owner]
    return mission


def _add_documents(session: Session, storage: Storage, spec: DemoMission, mission: Mission):
    """The mission's supporting documents, stored, linked to what they justify."""
    if not spec.documents:
        return
    from imagin.documents.bundle import text_pdf

    legs = sorted(mission.claim.legs, key=lambda leg: leg.departure_at)
    at = _at(mission.ends_on + dt.timedelta(days=1), 9)
    for name, title, lines, justified in spec.documents:
        data = text_pdf(title, lines)
        stored = storage.save_bytes(data, extension=".pdf")
        refs = [
            ReceiptRef.leg(legs[int(ref.split(":")[1])].id) if isinstance(ref, str) else ref
            for ref in justified
        ]
        document = Document(
            original_name=name,
            stored_name=stored.name,
            content_type="application/pdf",
            size=stored.size,
            sha256=stored.sha256,
            uploaded_at=at,
            uploaded_by_id=mission.intervenant.id,
            links=[ReceiptLink(kind=ref.kind.value, key=ref.key) for ref in refs],
        )
        mission.claim.documents.append(document)
        session.flush()
        session.add(
            AuditEvent(
                mission=mission,
                actor_id=mission.intervenant.id,
                at=at,
                action="document_added",
                part=Part.TRAVEL.value,
                detail={"document_id": document.id, "original_name": name},
            )
        )


def _freeze_travel(session: Session, spec: DemoMission, mission: Mission) -> None:
    """A validated travel part gets the amounts by category the real computation gives,
    as validation freezes them; the demo's own figure must agree."""
    from imagin.claims.rates import load_rates
    from imagin.documents.receipts import receipts_view
    from imagin.travel.service import frozen_amounts, frozen_detail, travel_view

    claim = mission.claim
    if claim.travel not in (S.VALIDATED, S.APPROVED, S.IN_PAYMENT):
        return
    view = travel_view(session, mission, load_rates(session))
    frozen = frozen_amounts(view)
    if sum(frozen.values()) != (spec.travel_cents or 0):
        raise ValueError(f"demo mission {spec.number}: {frozen} ≠ {spec.travel_cents}")
    receipts = receipts_view(view, claim.documents)
    if not receipts.all_provided:
        raise ValueError(f"demo mission {spec.number}: a receipt has no document")
    labels = dict(receipts.choices)
    for document in claim.documents:
        for link in document.links:
            link.label = labels.get(str(link.ref), "")
    claim.frozen_amounts = [
        FrozenAmount(category=str(category), amount_cents=cents)
        for category, cents in frozen.items()
    ]
    validation = session.scalar(
        select(AuditEvent).where(
            AuditEvent.mission_id == mission.id,
            AuditEvent.action == Action.VALIDATE,
            AuditEvent.part == Part.TRAVEL,
        )
    )
    if validation is not None:
        validation.detail = frozen_detail(view)


def _expense(kind: str, day: dt.date, what: str, value) -> Expense:
    if kind == "meal":
        return Expense(kind="meal", day=day, meal=what, taken=value)
    return Expense(kind="night", day=day, commune=what, amount_cents=value)


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Ne rien faire si la base contient des missions.")
def demo_command(if_empty: bool) -> None:
    """Load the demo data (running it twice changes nothing) and print the demo accounts."""
    from imagin.auth.passwords import hash_password
    from imagin.db import get_db
    from imagin.dossier.service import keyring
    from imagin.storage import get_storage

    db = get_db()
    if if_empty and db.scalar(select(func.count()).select_from(Mission)):
        click.echo("La base contient déjà des missions : données de démonstration non chargées.")
    elif load_demo(
        db,
        hash_password(DEMO_PASSWORD),
        clock.today(),
        storage=get_storage(),
        keyring=keyring(),
    ):
        click.echo("Données de démonstration chargées.")
    else:
        click.echo("Données de démonstration déjà présentes : rien n'a changé.")
    click.echo(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
    for email, role, _first, _last in ACCOUNTS:
        click.echo(f"  {email:<28} {role}")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
