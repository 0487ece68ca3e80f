"""Importing convocations: check a CSV file against the database, then apply it in one go.

``plan_import`` reads everything the file refers to in a fixed number of
queries (missions, users, exams… looked up by the keys in the file, never row
by row) and says what each row would do; ``apply_import`` does the same and,
only when there is no error at all, writes it to the caller's transaction.
Rows that would change nothing are not touched, so importing the same file
twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import exists, func, insert, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from imagin.claims.workflow import apply_transition
from imagin.domain.convocations import (
    PAY_BASIS_WORDS,
    ConvocationRow,
    RowError,
    fold,
    parse_convocations,
    rate_label,
)
from imagin.domain.roles import Role
from imagin.domain.status import Part, PartStatus
from imagin.domain.transitions import Action
from imagin.mail import queue_mails
from imagin.models import (
    AuditEvent,
    Bureau,
    Claim,
    Document,
    Exam,
    ExamCentre,
    ExamSession,
    Expense,
    HoursLine,
    Mission,
    MissionDay,
    MissionType,
    TravelLeg,
    User,
    bureau_member,
)
from imagin.notifications import (
    convocation_message,
    days_text,
    notify_convocation,
    notify_mission_cancelled,
    notify_mission_changed,
    place_text,
)

# Keys per IN (…): well below every database's limit on bound parameters.
CHUNK = 500
# A claim can still be changed by an import only while nobody has validated it.
OPEN_STATUSES = frozenset({PartStatus.NOT_VALIDATED, PartStatus.NO_COSTS})

CREATE, UPDATE, UNCHANGED, KEPT, IGNORED = "create", "update", "unchanged", "kept", "ignored"
# What an intervenant is told about when a re-import changes their mission.
ANNOUNCED = frozenset({"jours", "centre", "annulation"})
CANCELLED_BY_IMPORT = "Mission annulée par la DEC (convocation annulée)."


@dataclass
class PlannedRow:
    """What importing one row does: create, update (with what changes), nothing, or keep."""

    row: ConvocationRow
    action: str
    changes: tuple[str, ...] = ()
    new_intervenant: bool = False


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    new_users: int = 0
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for planned in self.rows if planned.action == action)

    def summary(self) -> str:
        """ "12 missions créées, 3 mises à jour, 5 inchangées", as the gestionnaire reads it."""
        created, updated = self.count(CREATE), self.count(UPDATE)
        parts = [
            _plural(created, "mission créée", "missions créées"),
            _plural(updated, "mise à jour", "mises à jour"),
            _plural(self.count(UNCHANGED), "inchangée", "inchangées"),
        ]
        kept = self.count(KEPT)
        if kept:
            parts.append(_plural(kept, "non modifiée", "non modifiées"))
        ignored = self.count(IGNORED)
        if ignored:
            parts.append(_plural(ignored, "ignorée", "ignorées"))
        text = ", ".join(parts)
        if self.new_users:
            text += f" ; {_plural(self.new_users, 'intervenant créé', 'intervenants créés')}"
        return text + "."


def plan_import(db: Session, text: str, manager: User) -> ImportPlan:
    """Dry run: every row's outcome and every error, nothing written."""
    return _Import(db, manager).plan(text)


def apply_import(db: Session, text: str, manager: User, now: dt.datetime) -> ImportPlan:
    """Check the file again and, if it has no error, write it all; the caller commits.

    With any error nothing is added to the session (``plan.applied`` is False).
    """
    importer = _Import(db, manager)
    plan = importer.plan(text)
    if plan.ok:
        importer.write(plan, now)
        plan.applied = True
    return plan


class _Import:
    def __init__(self, db: Session, manager: User) -> None:
        self.db = db
        self.manager = manager

    # Reading -------------------------------------------------------------------------

    def plan(self, text: str) -> ImportPlan:
        preview = parse_convocations(text)
        plan = ImportPlan(errors=list(preview.errors))
        rows = preview.rows
        if not rows:
            return plan
        self._load(rows)
        warned: set[tuple[str, str]] = set()
        reassigned: list[PlannedRow] = []
        for row in rows:
            planned = self._plan_row(row, plan, warned)
            if planned is None:
                continue
            plan.rows.append(planned)
            if planned.action == UPDATE and "intervenant" in planned.changes:
                reassigned.append(planned)
        self._keep_started_claims(reassigned, plan)
        new_emails = {planned.row.email.lower() for planned in plan.rows if planned.new_intervenant}
        plan.new_users = len(new_emails)
        plan.errors.sort(key=lambda error: error.line)
        plan.warnings.sort(key=lambda warning: warning.line)
        return plan

    def _load(self, rows: list[ConvocationRow]) -> None:
        db = self.db
        self.bureaus = {bureau.code.upper(): bureau for bureau in db.scalars(select(Bureau))}
        if self.manager.role == Role.ADMIN:
            self.managed = {bureau.id for bureau in self.bureaus.values()}
        else:
            self.managed = set(
                db.scalars(
                    select(bureau_member.c.bureau_id).where(
                        bureau_member.c.user_id == self.manager.id
                    )
                )
            )
        # Exams and mission types are few, and matched regardless of case and accents.
        self.exams = {fold(exam.name): exam for exam in db.scalars(select(Exam))}
        self.types = {fold(kind.label): kind for kind in db.scalars(select(MissionType))}
        self.sessions = {
            session.code: session
            for session in _chunked(
                db, ExamSession, ExamSession.code, {row.session_code for row in rows}
            )
        }
        self.centres = {
            centre.code.upper(): centre
            for centre in _chunked(
                db, ExamCentre, ExamCentre.code, {row.centre_code for row in rows}
            )
        }
        self.users: dict[str, User] = {}
        for user in sorted(
            _chunked(db, User, func.lower(User.email), {row.email.lower() for row in rows}),
            key=lambda user: user.id,
        ):
            self.users.setdefault(user.email.lower(), user)
        self.missions = {
            mission.number: mission
            for mission in _chunked(
                db,
                Mission,
                Mission.number,
                {row.number for row in rows},
                joinedload(Mission.claim),
                selectinload(Mission.days),
            )
        }

    def _plan_row(
        self, row: ConvocationRow, plan: ImportPlan, warned: set[tuple[str, str]]
    ) -> PlannedRow | None:
        errors: list[RowError] = []

        def error(column: str, message: str) -> None:
            errors.append(RowError(row.line, column, message))

        bureau = self.bureaus.get(row.bureau_code)
        if bureau is None:
            error("bureau_code", f"bureau « {row.bureau_code} » inconnu.")
        elif bureau.id not in self.managed:
            error(
                "bureau_code",
                f"vous ne gérez pas le bureau « {row.bureau_code} » : seules les missions "
                "de vos bureaux peuvent être importées.",
            )
        exam = self.exams.get(fold(row.exam))
        if exam is not None and exam.rate_class != row.rate_class:
            error(
                "taux_examen",
                f"l'examen « {exam.name} » a le taux « {rate_label(exam.rate_class)} » dans "
                "IMAG'IN ; un import ne change pas le taux d'un examen.",
            )
        kind = self.types.get(fold(row.mission_type))
        if kind is not None and kind.pay_basis != row.pay_basis:
            error(
                "base_remuneration",
                f"le type de mission « {kind.label} » a la base « "
                f"{PAY_BASIS_WORDS.get(kind.pay_basis, kind.pay_basis)} » dans IMAG'IN ; "
                "un import ne la change pas.",
            )
        self._warn_labels(row, plan, warned)

        user = self.users.get(row.email.lower())
        mission = self.missions.get(row.number)
        if mission is not None:
            if mission.bureau_id not in self.managed:
                error(
                    "numero_mission",
                    f"le numéro {row.number} est déjà celui d'une mission d'un autre bureau.",
                )
            elif bureau is not None and mission.bureau_id != bureau.id:
                error(
                    "bureau_code",
                    f"la mission N° {row.number} appartient à un autre de vos bureaux ; "
                    "un import ne change pas une mission de bureau.",
                )
        if errors:
            plan.errors.extend(errors)
            return None
        if mission is None and row.cancelled:
            plan.warnings.append(
                RowError(
                    row.line,
                    "annulation",
                    f"la mission N° {row.number} est annulée dans le fichier et n'existe pas "
                    "dans IMAG'IN : elle n'est pas créée.",
                )
            )
            return PlannedRow(row, IGNORED)
        if mission is None:
            return PlannedRow(row, CREATE, new_intervenant=user is None)
        changes = self._changes(mission, row, user, exam, kind)
        if not changes:
            return PlannedRow(row, UNCHANGED)
        claim = mission.claim
        if mission.cancelled or not {claim.pay, claim.travel} <= OPEN_STATUSES:
            plan.warnings.append(
                RowError(
                    row.line,
                    "numero_mission",
                    f"la mission N° {row.number} n'est pas modifiée : son état de frais n'est "
                    f"plus « Non validé » (rémunération : {claim.pay.label}, déplacement : "
                    f"{claim.travel.label}).",
                )
            )
            return PlannedRow(row, KEPT, changes)
        return PlannedRow(row, UPDATE, changes, new_intervenant=user is None)

    def _warn_labels(self, row: ConvocationRow, plan: ImportPlan, warned: set) -> None:
        """Names of existing sessions and centres are kept: say so when the file differs."""
        session = self.sessions.get(row.session_code)
        if (
            session is not None
            and session.label != row.session_label
            and ("session", row.session_code) not in warned
        ):
            warned.add(("session", row.session_code))
            plan.warnings.append(
                RowError(
                    row.line,
                    "session",
                    f"la session « {row.session_code} » s'appelle « {session.label} » dans "
                    "IMAG'IN : ce libellé est conservé.",
                )
            )
        centre = self.centres.get(row.centre_code)
        if (
            centre is not None
            and (centre.name, centre.commune) != (row.centre_name, row.centre_commune)
            and ("centre", row.centre_code) not in warned
        ):
            warned.add(("centre", row.centre_code))
            plan.warnings.append(
                RowError(
                    row.line,
                    "centre_nom",
                    f"le centre « {row.centre_code} » est « {centre.name} — {centre.commune} » "
                    "dans IMAG'IN : ce nom est conservé.",
                )
            )

    def _changes(self, mission, row, user, exam, kind) -> tuple[str, ...]:
        session = self.sessions.get(row.session_code)
        centre = self.centres.get(row.centre_code)
        stored_days = {(day.day, day.start_time, day.half_days) for day in mission.days}
        wanted_days = {(day.day, day.start, day.half_days) for day in row.days}
        checks = (
            ("intervenant", user is None or mission.intervenant_id != user.id),
            ("examen", exam is None or mission.exam_id != exam.id),
            ("session", session is None or mission.session_id != session.id),
            ("type de mission", kind is None or mission.mission_type_id != kind.id),
            ("centre", centre is None or mission.centre_id != centre.id),
            ("spécialité", mission.specialite != row.specialite),
            ("épreuve/option", mission.epreuve_option != row.epreuve_option),
            ("droit à rémunération", mission.pay_applies != row.pay_applies),
            ("droit au déplacement", mission.travel_applies != row.travel_right),
            ("jours", stored_days != wanted_days),
            ("annulation", row.cancelled and not mission.cancelled),
        )
        return tuple(name for name, changed in checks if changed)

    def _keep_started_claims(self, reassigned: list[PlannedRow], plan: ImportPlan) -> None:
        """Another intervenant must not inherit what the current one already entered."""
        if not reassigned:
            return
        claim_ids = [self.missions[p.row.number].claim.id for p in reassigned]
        started = set(self.db.scalars(select(Claim.id).where(_has_entries(claim_ids))))
        for planned in reassigned:
            if self.missions[planned.row.number].claim.id in started:
                planned.action = KEPT
                planned.new_intervenant = False
                plan.warnings.append(
                    RowError(
                        planned.row.line,
                        "email",
                        f"la mission N° {planned.row.number} n'est pas modifiée : son "
                        "intervenant actuel a déjà commencé son état de frais.",
                    )
                )

    # Writing -------------------------------------------------------------------------

    def write(self, plan: ImportPlan, now: dt.datetime) -> None:
        creates = [planned.row for planned in plan.rows if planned.action == CREATE]
        updates = [planned for planned in plan.rows if planned.action == UPDATE]
        self._insert_references([*creates, *(planned.row for planned in updates)])
        self._update_references([planned.row for planned in plan.rows])
        self._insert_missions(creates, now)
        # Updates go through the ORM one by one: they are few (a changed convocation).
        for planned in updates:
            self._update(planned, now)

    def _insert_references(self, rows: list[ConvocationRow]) -> None:
        """Create the intervenants, exams, sessions, centres and types no row found."""
        self._insert_missing(
            User,
            self.users,
            rows,
            lambda row: row.email.lower(),
            lambda row: {
                "email": row.email,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "role": Role.INTERVENANT.value,
                "password_hash": None,
            },
            lambda user: user.email.lower(),
        )
        self._insert_missing(
            Exam,
            self.exams,
            rows,
            lambda row: fold(row.exam),
            lambda row: {
                "name": row.exam,
                "rate_class": row.rate_class,
                "optional_test": bool(row.optional_test),
            },
            lambda exam: fold(exam.name),
        )
        self._insert_missing(
            ExamSession,
            self.sessions,
            rows,
            lambda row: row.session_code,
            lambda row: {
                "code": row.session_code,
                "label": row.session_label,
                "entries_close_on": row.session_closes_on,
            },
            lambda session: session.code,
        )
        self._insert_missing(
            ExamCentre,
            self.centres,
            rows,
            lambda row: row.centre_code,
            lambda row: {
                "code": row.centre_code,
                "name": row.centre_name,
                "commune": row.centre_commune,
            },
            lambda centre: centre.code.upper(),
        )
        self._insert_missing(
            MissionType,
            self.types,
            rows,
            lambda row: fold(row.mission_type),
            lambda row: {"label": row.mission_type, "pay_basis": row.pay_basis},
            lambda kind: fold(kind.label),
        )

    def _update_references(self, rows: list[ConvocationRow]) -> None:
        """What the file says explicitly of an existing exam or session replaces what it had."""
        for row in rows:
            exam = self.exams.get(fold(row.exam))
            if exam is not None and row.optional_test is not None:
                exam.optional_test = row.optional_test
            session = self.sessions.get(row.session_code)
            if session is not None and row.closes_on is not None:
                session.entries_close_on = row.closes_on

    def _insert_missing(self, model, found: dict, rows, key, values, key_of) -> None:
        missing: dict = {}
        for row in rows:
            if key(row) not in found:
                missing.setdefault(key(row), values(row))
        if missing:
            # One INSERT … RETURNING for all; rows come back in any order, hence key_of.
            for created in self.db.scalars(insert(model).returning(model), list(missing.values())):
                found[key_of(created)] = created

    def _insert_missions(self, rows: list[ConvocationRow], now: dt.datetime) -> None:
        """Create the new missions, their days, claims and events with one INSERT each."""
        if not rows:
            return
        db = self.db
        missions = {
            mission.number: mission
            for mission in db.scalars(
                insert(Mission).returning(Mission), [self._mission_values(row) for row in rows]
            )
        }
        days: dict[int, list[MissionDay]] = {}
        for day in db.scalars(
            insert(MissionDay).returning(MissionDay),
            [
                {
                    "mission_id": missions[row.number].id,
                    "day": day.day,
                    "start_time": day.start,
                    "half_days": day.half_days,
                }
                for row in rows
                for day in row.days
            ],
        ):
            days.setdefault(day.mission_id, []).append(day)
        claims = {
            claim.mission_id: claim
            for claim in db.scalars(
                insert(Claim).returning(Claim),
                [
                    {
                        "mission_id": missions[row.number].id,
                        "pay_status": _status(row.pay_applies).value,
                        "travel_status": _status(row.travel_right).value,
                    }
                    for row in rows
                ],
            )
        }
        for mission in missions.values():
            # What the notification reads, without loading it back.
            set_committed_value(mission, "days", sorted(days[mission.id], key=lambda d: d.day))
            set_committed_value(mission, "claim", claims[mission.id])
        db.execute(
            insert(AuditEvent),
            [
                {
                    "mission_id": missions[row.number].id,
                    "actor_id": self.manager.id,
                    "at": now,
                    "action": "convocation",
                    "detail": {"source": "import", "line": row.line},
                }
                for row in rows
            ],
        )
        queue_mails(db, [convocation_message(missions[row.number]) for row in rows])
        self.missions.update(missions)

    def _mission_values(self, row: ConvocationRow) -> dict:
        return {
            "number": row.number,
            "intervenant_id": self.users[row.email.lower()].id,
            "exam_id": self.exams[fold(row.exam)].id,
            "session_id": self.sessions[row.session_code].id,
            "mission_type_id": self.types[fold(row.mission_type)].id,
            "centre_id": self.centres[row.centre_code].id,
            "bureau_id": self.bureaus[row.bureau_code].id,
            "specialite": row.specialite,
            "epreuve_option": row.epreuve_option,
            "pay_applies": row.pay_applies,
            "travel_applies": row.travel_right,
            "starts_on": row.days[0].day,
            "ends_on": row.days[-1].day,
        }

    def _update(self, planned: PlannedRow, now: dt.datetime) -> None:
        row = planned.row
        mission = self.missions[row.number]
        previous_intervenant = mission.intervenant_id
        before = {"jours": days_text(mission.days), "centre": place_text(mission.centre)}
        # Relationships are assigned even when unchanged: a notification then reads
        # them without loading anything.
        mission.intervenant = self.users[row.email.lower()]
        mission.exam = self.exams[fold(row.exam)]
        mission.session = self.sessions[row.session_code]
        mission.mission_type = self.types[fold(row.mission_type)]
        mission.centre = self.centres[row.centre_code]
        mission.bureau = self.bureaus[row.bureau_code]
        mission.specialite = row.specialite
        mission.epreuve_option = row.epreuve_option
        mission.pay_applies = row.pay_applies
        mission.travel_applies = row.travel_right
        self._set_days(mission, row)
        self._event(mission, "convocation", row, now, update=list(planned.changes))
        if row.cancelled:
            self._cancel(mission, row, now)
        else:
            self._follow_rights(mission, row, now)
        if mission.intervenant.id != previous_intervenant:
            # For the new intervenant this is a new convocation.
            notify_convocation(self.db, mission)
        elif not row.cancelled and ANNOUNCED & set(planned.changes):
            self._announce(mission, planned, before, now)

    def _event(self, mission: Mission, action: str, row: ConvocationRow, now, **detail) -> None:
        """A history event of the import, with the line it comes from."""
        self.db.add(
            AuditEvent(
                mission=mission,
                actor_id=self.manager.id,
                at=now,
                action=action,
                detail={"source": "import", "line": row.line, **detail},
            )
        )

    def _follow_rights(self, mission: Mission, row: ConvocationRow, now: dt.datetime) -> None:
        """Each part follows its right: through the state machine's re-import transitions."""
        claim = mission.claim
        for part, applies in ((Part.PAY, row.pay_applies), (Part.TRAVEL, row.travel_right)):
            current = PartStatus(getattr(claim, part.status_column))
            if applies and current is PartStatus.NO_COSTS:
                action = Action.REIMPORT_OPEN
            elif not applies and current is PartStatus.NOT_VALIDATED:
                action = Action.REIMPORT_CLOSE
            else:
                continue
            self._transition(mission, part, action, row, now)

    def _transition(self, mission, part, action, row, now, reason: str | None = None) -> None:
        """A change of status of the import, through the state machine, with its line."""
        detail = {"source": "import", "line": row.line}
        apply_transition(
            self.db, mission, part, action, self.manager, now=now, reason=reason, detail=detail
        )

    def _cancel(self, mission: Mission, row: ConvocationRow, now: dt.datetime) -> None:
        """The convocation is cancelled: both parts "Annulé", and the intervenant is told."""
        reason = row.cancel_reason or CANCELLED_BY_IMPORT
        for part in Part:
            self._transition(mission, part, Action.CANCEL, row, now, reason)
        mission.cancelled = True
        mission.cancel_reason = reason
        notify_mission_cancelled(self.db, mission, reason)

    def _announce(
        self, mission: Mission, planned: PlannedRow, before: dict[str, str], now: dt.datetime
    ) -> None:
        """Dates, times or place changed: a history event and an e-mail say what changed."""
        after = {"jours": days_text(mission.days), "centre": place_text(mission.centre)}
        words = {"jours": "Dates", "centre": "Lieu"}
        changes = [
            f"{words[name]} : {before[name]} → {after[name]}"
            for name in ("jours", "centre")
            if name in planned.changes and before[name] != after[name]
        ]
        if not changes:
            return
        self._event(mission, "mission_changed", planned.row, now, changes=changes)
        notify_mission_changed(self.db, mission, changes)

    @staticmethod
    def _set_days(mission: Mission, row: ConvocationRow) -> None:
        by_date = {day.day: day for day in mission.days}
        for wanted in row.days:
            day = by_date.pop(wanted.day, None)
            if day is None:
                mission.days.append(
                    MissionDay(day=wanted.day, start_time=wanted.start, half_days=wanted.half_days)
                )
            else:
                # Changed in place: deleting and re-adding the same date would break the
                # (mission, day) unique constraint within one flush.
                day.start_time, day.half_days = wanted.start, wanted.half_days
        for stale in by_date.values():
            mission.days.remove(stale)
        mission.days.sort(key=lambda day: day.day)
        mission.starts_on = row.days[0].day
        mission.ends_on = row.days[-1].day


def _status(applies: bool) -> PartStatus:
    """A new or re-imported claim part: waiting for the intervenant, or nothing to claim."""
    return PartStatus.NOT_VALIDATED if applies else PartStatus.NO_COSTS


def _chunked(db: Session, model, column, keys: Iterable, *options) -> Iterator:
    """Rows of ``model`` whose ``column`` is one of ``keys``, CHUNK keys per query."""
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        query = select(model).where(column.in_(ordered[start : start + CHUNK]))
        yield from db.scalars(query.options(*options)).unique()


def _has_entries(claim_ids: list[int]):
    """SQL condition: the intervenant has entered something in the claim."""
    return Claim.id.in_(claim_ids) & or_(
        Claim.done.is_not(None),
        Claim.copies.is_not(None),
        Claim.candidates.is_not(None),
        *(
            exists().where(child.claim_id == Claim.id)
            for child in (HoursLine, TravelLeg, Expense, Document)
        ),
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count <= 1 else many}"
