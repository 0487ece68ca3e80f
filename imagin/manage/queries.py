"""The back office's lists: the queue of claims and the counts, in a constant number of queries.

None of them reads the whole bureau: a bureau holds hundreds of thousands of claims
after a few years. The counts come from ``claim_count`` (kept by triggers, see
imagin.models.counts), and with them the bureaus and the sessions to choose from; the
exams to choose from ask one indexed ``EXISTS`` per exam; the page of 50 is read in the
queue's order straight from indexes. Each statement is a round trip, on PostgreSQL a wait
for its server to be scheduled on a busy machine: three for the first page.

The queue opens on what needs the DEC, oldest first: the claims waiting for it (a part
"Validé"), by the date their intervenant validated them (``validated_at``), ascending.
For a DEC office "oldest" is "waiting the longest": that date is when the claim came into
its hands and started waiting (a mission's date says nothing of how long the intervenant
took to declare it). Then the others, each by validation date (NULL first on SQLite,
last on PostgreSQL, as ORDER BY always sorted them), then start date, newest first, then
number. The claims are
read in three segments that each follow one index:

- waiting: ``ix_claim_waiting`` (partial index on validated_at);
- not waiting and never validated: ``ix_mission_queue`` (bureau, starts_on DESC, number),
  one bureau at a time, merged;
- not waiting, validated: ``ix_claim_validated_at``.

A new filter (a column of mission or claim, such as the service-fait state or the
closing date) goes in ``_filter_conditions``; if it must stay fast when it selects few claims,
give it an index led by ``bureau_id`` and add its column to ``claim_count`` only if the
totals must be counted without reading claims. The closing-date filter ("Saisie close" /
"Saisie ouverte") is counted from claim_count by session (each session's closing date),
corrected by the few claims the DEC reopened (``ix_claim_reopened_until``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from flask import g
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import joinedload

from imagin.db import get_db
from imagin.domain.deadlines import Deadline, EntryWindow
from imagin.domain.roles import Role
from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import PartStatus, effective_status
from imagin.domain.transitions import Action, allowed_actions
from imagin.manage.access import managed_bureau_ids
from imagin.missions.queries import MAX_MISSION_NUMBER, status_condition
from imagin.models import Claim, ClaimCount, Exam, ExamSession, Mission, User


@dataclass(frozen=True)
class QueueFilters:
    session_id: int | None = None
    exam_id: int | None = None
    status: PartStatus | None = None
    name: str = ""
    number: int | None = None
    # Through ix_mission_bureau_service_fait.
    service_fait: ServiceFait | None = None
    # The claim's effective closing date (reopened_until, else its session's) against today.
    entries: EntryWindow | None = None


@dataclass(frozen=True)
class QueueRow:
    """A claim of the queue as the DEC sees it today, and whether it may be ticked."""

    mission: Mission
    pay: PartStatus
    travel: PartStatus
    # Some part waits for the DEC's validation: only such rows are offered to bulk approval.
    selectable: bool
    # The claim's closing date for entries (None: never closes), and whether it has passed.
    closes_on: dt.date | None = None
    closed: bool = False

    @classmethod
    def of(cls, mission: Mission, today: dt.date, role: Role) -> QueueRow:
        claim = mission.claim
        deadline = Deadline(mission.session.entries_close_on, claim.reopened_until)
        return cls(
            mission,
            effective_status(claim.pay, mission.ends_on, today),
            effective_status(claim.travel, mission.ends_on, today),
            any(
                Action.APPROVE in allowed_actions(status, role)
                for status in (claim.pay, claim.travel)
            ),
            deadline.closes_on,
            deadline.passed(today),
        )


@dataclass(frozen=True)
class QueuePage:
    missions: list[Mission]
    total: int
    page: int
    pages: int
    # How many of the matching claims wait for the DEC (they come first).
    waiting: int = 0


# Literals, not bound parameters: SQLite and PostgreSQL then match the partial index
# ix_claim_waiting, whose WHERE clause is exactly this.
_VALIDATED = literal_column(f"'{PartStatus.VALIDATED.value}'")
WAITING = or_(Claim.pay_status == _VALIDATED, Claim.travel_status == _VALIDATED)
# The segments of the queue, in its order on each database (see the module's docstring).
WAITING_SEGMENT, NEVER_VALIDATED, VALIDATED = "waiting", "never_validated", "validated"
SEGMENTS = {
    "sqlite": (WAITING_SEGMENT, NEVER_VALIDATED, VALIDATED),
    "postgresql": (WAITING_SEGMENT, VALIDATED, NEVER_VALIDATED),
}
# Statuses whose claims the counts table can count: "en cours" and "non validé" also
# depend on today's date against the mission's end.
_DATED = frozenset({PartStatus.IN_PROGRESS, PartStatus.NOT_VALIDATED})


def managed_bureau_list() -> list[int]:
    """Ids of the bureaus of the current user (every bureau for an admin) that hold claims.

    Read with the counts, in the same statement (see _count_rows): a bureau without any
    claim has nothing to show in the queue nor to choose in its filters.
    """
    return sorted({row.bureau_id for row in _count_rows()})


@dataclass(frozen=True)
class SessionChoice:
    id: int
    label: str


@dataclass(frozen=True)
class _CountRow:
    bureau_id: int
    session_id: int
    session_label: str
    pay: str
    travel: str
    validated: bool
    n: int
    closes_on: dt.date | None = None


def _count_rows() -> list[_CountRow]:
    """The claim_count rows of the current user's bureaus, read once a request.

    A few dozen rows per bureau and session: the queue's totals, the table of counts,
    the sessions to choose from and the bureaus to read are all computed from them, in
    one round trip to the database.
    """
    if "claim_counts" not in g:
        rows = get_db().execute(
            select(
                ClaimCount.bureau_id,
                ClaimCount.session_id,
                ExamSession.label,
                ClaimCount.pay_status,
                ClaimCount.travel_status,
                ClaimCount.validated,
                ClaimCount.n,
                ExamSession.entries_close_on,
            )
            .join(ExamSession, ExamSession.id == ClaimCount.session_id)
            .where(ClaimCount.bureau_id.in_(managed_bureau_ids()), ClaimCount.n > 0)
            # The sessions' order in the filter: the newest first.
            .order_by(ExamSession.code.desc())
        )
        g.claim_counts = [_CountRow(*row) for row in rows]
    return g.claim_counts


# What finds a page's claims. By default the segments' indexes, in the queue's order.
# A filter that picks a small set by an index of its own drives instead: that set is
# found by it and sorted, which costs what the set holds, never the whole bureau.
BY_ORDER, BY_NUMBER, BY_NAME, BY_EXAM, BY_END = "order", "number", "name", "exam", "end"


def _driver(filters: QueueFilters) -> str:
    if filters.number is not None:
        return BY_NUMBER
    if filters.name:
        return BY_NAME
    if filters.exam_id is not None:
        return BY_EXAM  # mission(bureau_id, exam_id)
    if filters.status is PartStatus.IN_PROGRESS:
        return BY_END  # mission(bureau_id, ends_on): the missions not yet ended
    return BY_ORDER


def _unindexed(column):
    """``column`` as an expression SQLite does not look up by index ("+ 0"): when another
    index drives, its planner would otherwise rather find every matching row by this
    column (a whole bureau or session), then sort them all. PostgreSQL's planner weighs
    both from its statistics, which "+ 0" would blind: the column stays as it is."""
    return column + 0 if get_db().get_bind().dialect.name == "sqlite" else column


def _unindexed_date(column):
    """A column (a date or any non-number) hidden from SQLite's planner, like "+ 0"."""
    return func.coalesce(column, None) if get_db().get_bind().dialect.name == "sqlite" else column


def _in_bureaus(bureaus: list[int], driver: str) -> ColumnElement[bool]:
    column = Mission.bureau_id if driver in (BY_EXAM, BY_END) else _unindexed(Mission.bureau_id)
    return column.in_(bureaus)


def _filter_conditions(filters: QueueFilters, today: dt.date) -> list[ColumnElement[bool]]:
    """The filters as SQL conditions on mission and claim (and user_account, by id).

    New filters go here, as conditions on mission or claim columns; a filter that can
    select a small part of a bureau gets an index led by bureau_id and a driver above.
    """
    conditions: list[ColumnElement[bool]] = []
    if filters.session_id is not None:
        # A session is a large part of a bureau: never what drives (see _unindexed).
        conditions.append(_unindexed(Mission.session_id) == filters.session_id)
    if filters.exam_id is not None:
        conditions.append(Mission.exam_id == filters.exam_id)
    if filters.status is not None:
        conditions.append(status_condition(filters.status, today))
    if filters.service_fait is not None:
        # Not an index term on SQLite: an equality on a column of mission made its planner
        # start from mission, all of it, rather than walk the queue's order index.
        conditions.append(_unindexed_date(Mission.service_fait) == filters.service_fait.value)
    if filters.entries is not None:
        conditions.append(_entries_condition(filters.entries, today))
    if filters.number is not None:
        conditions.append(
            Mission.number == (filters.number if 0 < filters.number <= MAX_MISSION_NUMBER else -1)
        )
    if filters.name:
        pattern = f"%{filters.name.strip().lower()}%"
        conditions.append(
            Mission.intervenant_id.in_(
                select(User.id).where(
                    or_(
                        func.lower(User.last_name).like(pattern),
                        func.lower(User.first_name).like(pattern),
                        func.lower(User.email).like(pattern),
                    )
                )
            )
        )
    return conditions


def _in_closed_session(today: dt.date) -> ColumnElement[bool]:
    """The mission's session closed its entries before ``today`` (a few sessions: the
    session never drives, see _unindexed)."""
    closed = select(ExamSession.id).where(ExamSession.entries_close_on < today)
    return _unindexed(Mission.session_id).in_(closed)


def _entries_condition(window: EntryWindow, today: dt.date) -> ColumnElement[bool]:
    """The claim's effective closing date (the DEC's reopening, else its session's) is
    past (CLOSED) or not (OPEN); the closing day itself is open, as in Deadline.passed."""
    if window is EntryWindow.CLOSED:
        return or_(
            Claim.reopened_until < today,
            and_(Claim.reopened_until.is_(None), _in_closed_session(today)),
        )
    return or_(
        Claim.reopened_until >= today,
        and_(Claim.reopened_until.is_(None), not_(_in_closed_session(today))),
    )


def _reopened_moves(
    bureaus: list[int], filters: QueueFilters, stored: PartStatus | None, today: dt.date
) -> dict[str, int]:
    """What the claims the DEC reopened change to a closing-date total counted by session.

    claim_count puts each claim in its session's window; a reopened claim whose own date
    puts it in the other window is moved: +n to the filter's window, -n to the other.
    Read from ix_claim_reopened_until: only the reopened claims.
    """
    segment = case(
        (WAITING, WAITING_SEGMENT),
        (Claim.validated_at.is_(None), NEVER_VALIDATED),
        else_=VALIDATED,
    )
    now_closed = Claim.reopened_until < today
    window = case((now_closed, EntryWindow.CLOSED.value), else_=EntryWindow.OPEN.value)
    in_closed_session = _in_closed_session(today)
    where = [
        Claim.reopened_until.is_not(None),
        _in_bureaus(bureaus, BY_ORDER),
        or_(and_(now_closed, not_(in_closed_session)), and_(not_(now_closed), in_closed_session)),
    ]
    if filters.session_id is not None:
        where.append(_unindexed(Mission.session_id) == filters.session_id)
    if stored is not None:
        # As claim_count counts them: the stored status of either part.
        where.append(or_(Claim.pay_status == stored, Claim.travel_status == stored))
    rows = get_db().execute(
        select(segment, window, func.count())
        .select_from(Claim)
        .join(Claim.mission)
        .where(*where)
        .group_by(segment, window)
    )
    moves = dict.fromkeys((WAITING_SEGMENT, NEVER_VALIDATED, VALIDATED), 0)
    for name, moved_to, n in rows:
        moves[name] += n if moved_to == filters.entries else -n
    return moves


def _segment_condition(segment: str) -> ColumnElement[bool]:
    if segment == WAITING_SEGMENT:
        return WAITING
    if segment == NEVER_VALIDATED:
        # Read by mission: claim(validated_at) must not be where the planner starts.
        return and_(not_(WAITING), _unindexed_date(Claim.validated_at).is_(None))
    return and_(not_(WAITING), Claim.validated_at.is_not(None))


def _segment_of_row(row: _CountRow) -> str:
    if PartStatus.VALIDATED in (row.pay, row.travel):
        return WAITING_SEGMENT
    return VALIDATED if row.validated else NEVER_VALIDATED


def _counted(bureaus: list[int], conditions: list, driver: str) -> dict[str, int]:
    """Claims per segment matching ``conditions``, counted from the claims."""
    segment = case(
        (WAITING, WAITING_SEGMENT),
        (Claim.validated_at.is_(None), NEVER_VALIDATED),
        else_=VALIDATED,
    )
    rows = get_db().execute(
        select(segment, func.count())
        .select_from(Mission)
        .join(Mission.claim)
        .where(_in_bureaus(bureaus, driver), *conditions)
        .group_by(segment)
    )
    return dict(rows.all())


def _segment_totals(
    bureaus: list[int], filters: QueueFilters, conditions: list, today: dt.date
) -> dict[str, int]:
    """How many claims of each segment match the filters.

    From claim_count when only the session and the status filter; "en cours" and
    "non validé" also depend on the date: the claims not yet ended are counted (few,
    by mission(bureau_id, ends_on)), and "non validé" is the rest of the stored ones.
    """
    totals = dict.fromkeys((WAITING_SEGMENT, NEVER_VALIDATED, VALIDATED), 0)
    driver = _driver(filters)
    if driver not in (BY_ORDER, BY_END):
        totals.update(_counted(bureaus, conditions, driver))
        return totals
    stored = PartStatus.NOT_VALIDATED if filters.status in _DATED else filters.status
    for row in _count_rows():
        if filters.session_id is not None and row.session_id != filters.session_id:
            continue
        if stored is not None and stored not in (row.pay, row.travel):
            continue
        if (
            filters.entries is not None
            and EntryWindow.of(Deadline(row.closes_on), today) is not filters.entries
        ):
            continue
        totals[_segment_of_row(row)] += row.n
    if filters.entries is not None:
        for name, n in _reopened_moves(bureaus, filters, stored, today).items():
            totals[name] += n
    if filters.status in _DATED:
        in_progress = replace(filters, status=PartStatus.IN_PROGRESS)
        running = _counted(bureaus, _filter_conditions(in_progress, today), BY_END)
        if filters.status is PartStatus.IN_PROGRESS:
            totals = dict.fromkeys(totals, 0) | running
        else:
            totals = {name: n - running.get(name, 0) for name, n in totals.items()}
    return totals


def _segment_rows(
    segment: str, rank: int, bureaus: list[int], conditions: list, offset, limit, driver: str
):
    """One segment's rows of the page, in the queue's order, read from its index
    (or found by the driving filter's index, then sorted)."""
    where = [_segment_condition(segment), *conditions]

    def key(column):
        # A small set found by its own index is sorted: an ORDER BY that no index
        # matches keeps the planner from walking a whole segment's index instead.
        return column if driver == BY_ORDER else func.coalesce(column, None)

    columns = (
        Mission.id.label("id"),
        literal(rank).label("rank"),
        Claim.validated_at.label("validated_at"),
        Mission.starts_on.label("starts_on"),
        Mission.number.label("number"),
    )
    if segment != NEVER_VALIDATED:
        # Driven by the claim's validation date (partial index for the waiting ones).
        return (
            select(*columns)
            .select_from(Claim)
            .join(Claim.mission)
            .where(_in_bureaus(bureaus, driver), *where)
            .order_by(key(Claim.validated_at), key(Mission.starts_on).desc(), key(Mission.number))
            .limit(limit)
            .offset(offset)
            .subquery()
        )
    # Driven by (bureau, starts_on DESC, number): each bureau's first rows in order,
    # then merged, so no bureau is ever sorted as a whole.
    per_bureau = [
        select(*columns)
        .select_from(Mission)
        .join(Mission.claim)
        .where(Mission.bureau_id == bureau, *where)
        .order_by(key(Mission.starts_on).desc(), key(Mission.number))
        .limit(offset + limit)
        .subquery()
        for bureau in bureaus
    ]
    merged = (
        per_bureau[0]
        if len(per_bureau) == 1
        else union_all(*(select(part) for part in per_bureau)).subquery()
    )
    return (
        select(merged)
        .order_by(merged.c.starts_on.desc(), merged.c.number)
        .limit(limit)
        .offset(offset)
        .subquery()
    )


def _small_set_rows(bureaus: list[int], conditions: list, driver: str, offset: int, limit: int):
    """A page of the small set a driving filter's index finds, in the queue's order, each
    row with the set's total and how many of it wait (window counts over the whole set):
    the set is read once, where counting it and then reading the page read it twice."""
    order = SEGMENTS.get(get_db().get_bind().dialect.name, SEGMENTS["postgresql"])
    rank = case(
        (WAITING, order.index(WAITING_SEGMENT)),
        (Claim.validated_at.is_(None), order.index(NEVER_VALIDATED)),
        else_=order.index(VALIDATED),
    )
    return (
        select(
            Mission.id.label("id"),
            rank.label("rank"),
            Claim.validated_at.label("validated_at"),
            Mission.starts_on.label("starts_on"),
            Mission.number.label("number"),
            func.count().over().label("total"),
            func.sum(case((WAITING, 1), else_=0)).over().label("waiting"),
        )
        .select_from(Mission)
        .join(Mission.claim)
        .where(_in_bureaus(bureaus, driver), *conditions)
        .order_by(rank, Claim.validated_at, Mission.starts_on.desc(), Mission.number)
        .limit(limit)
        .offset(offset)
        .subquery()
    )


def _page_of(rows, *columns):
    """The page's missions (with what the queue shows of them) in the order of ``rows``."""
    # Only what the queue shows: each table joined here multiplies PostgreSQL's planning
    # (the mission type and the centre, never shown, took it from 0.7 to 2.9 ms at 1 M).
    return (
        get_db()
        .execute(
            select(Mission, *columns)
            .join(rows, rows.c.id == Mission.id)
            .options(
                joinedload(Mission.exam),
                joinedload(Mission.session),
                joinedload(Mission.claim),
                joinedload(Mission.intervenant),
            )
            .order_by(rows.c.rank, rows.c.validated_at, rows.c.starts_on.desc(), rows.c.number)
        )
        .all()
    )


def queue(filters: QueueFilters, *, page: int, per_page: int, today: dt.date) -> QueuePage:
    """Claims of the gestionnaire's bureaus: those waiting for the DEC first, the one
    waiting the longest (validated by its intervenant the earliest) first.

    Two queries at most whatever the filters and the page: the totals (none when
    claim_count answers), and the page's rows with what they show. On PostgreSQL, a
    filter that drives by its own index (number, name, exam) reads its small set once:
    the page and the totals in one query, unless the page asked for is past the last one.
    """
    db = get_db()
    bureaus = managed_bureau_list()
    conditions = _filter_conditions(filters, today)
    driver = _driver(filters)
    # On PostgreSQL only: there, at 1 M, the exam filter's 4 000 claims cost 16 ms of the
    # server's CPU read once, 23 ms counted then paged. SQLite's second pass reads the
    # pages its first one cached, and the one-pass query (a window over the whole set,
    # sorted) was 5 % slower there: SQLite keeps the count and the page.
    if driver in (BY_NUMBER, BY_NAME, BY_EXAM) and db.get_bind().dialect.name == "postgresql":
        page = max(page, 1)
        rows = _small_set_rows(bureaus, conditions, driver, (page - 1) * per_page, per_page)
        found = _page_of(rows, rows.c.total, rows.c.waiting)
        if found or page == 1:
            total, waiting = (found[0].total, int(found[0].waiting)) if found else (0, 0)
            pages = max(1, -(-total // per_page))
            return QueuePage([row[0] for row in found], total, page, pages, waiting)
        # Past the last page: counted below, then the last page is shown.
    totals = _segment_totals(bureaus, filters, conditions, today)
    total = sum(totals.values())
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    offset, wanted, parts = (page - 1) * per_page, per_page, []
    order = SEGMENTS.get(db.get_bind().dialect.name, SEGMENTS["postgresql"])
    for rank, segment in enumerate(order):
        if wanted <= 0:
            break
        if offset >= totals[segment]:
            offset -= totals[segment]
            continue
        taken = min(wanted, totals[segment] - offset)
        parts.append(_segment_rows(segment, rank, bureaus, conditions, offset, taken, driver))
        wanted -= taken
        offset = 0
    waiting = totals[WAITING_SEGMENT]
    if not parts:
        return QueuePage([], total, page, pages, waiting)
    rows = parts[0] if len(parts) == 1 else union_all(*(select(p) for p in parts)).subquery()
    missions = [row[0] for row in _page_of(rows)]
    return QueuePage(missions, total, page, pages, waiting)


def status_counts() -> dict[str, dict[str, int]]:
    """Parts per session and stored status, read from claim_count."""
    counts: dict[str, dict[str, int]] = {}
    for row in _count_rows():
        by_status = counts.setdefault(row.session_label, {})
        for status in (row.pay, row.travel):
            by_status[status] = by_status.get(status, 0) + row.n
    return dict(sorted(counts.items(), reverse=True))


def filter_choices() -> tuple[list[SessionChoice], list[Row]]:
    """Sessions (id, label) with claims and exams (id, name) with missions in the bureaus.

    The sessions come from claim_count (the rows the queue reads anyway); the exams from
    one indexed EXISTS per exam (mission(bureau_id, exam_id)): the cost follows the
    number of sessions and exams, not of missions. Plain rows: the form only shows them.
    """
    sessions = list(
        dict.fromkeys(SessionChoice(row.session_id, row.session_label) for row in _count_rows())
    )
    bureaus = managed_bureau_list()
    exams = get_db().execute(
        select(Exam.id, Exam.name)
        .where(exists().where(Mission.exam_id == Exam.id, Mission.bureau_id.in_(bureaus)))
        .order_by(Exam.name)
    )
    return sessions, list(exams)
