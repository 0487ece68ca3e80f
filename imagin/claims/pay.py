"""The pay part between the stored claim and imagin.domain.pay: what the tab shows, saving."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from imagin.claims.editing import editable, ensure_editable, touch
from imagin.domain.errors import FieldError, Missing
from imagin.domain.pay import (
    NOT_REMUNERATED,
    HoursLine,
    PayBasis,
    PayEntry,
    PayEstimate,
    check_counts,
    check_hours,
    estimate_pay,
    total_minutes,
)
from imagin.domain.rates import RateTable
from imagin.domain.status import Part, PartStatus
from imagin.domain.validation import pay_missing
from imagin.models import Claim, Mission
from imagin.models import HoursLine as StoredHoursLine


def stored_entry(claim: Claim) -> PayEntry:
    return PayEntry(
        done=claim.done,
        copies=claim.copies,
        candidates=claim.candidates,
        hours=tuple(HoursLine(h.day, h.start, h.end) for h in claim.hours),
    )


def entry_from_form(form) -> PayEntry:
    """What the form holds; hours lines left empty are no lines."""
    done = {"oui": True, "non": False}.get(form.done.data or "")
    return PayEntry(
        done=done,
        copies=form.copies.data,
        candidates=form.candidates.data,
        hours=tuple(
            HoursLine(line.day.data, line.start.data, line.end.data)
            for line in form.hours
            if line.day.data and line.start.data and line.end.data
        ),
    )


def form_data(mission: Mission) -> dict:
    """The stored pay part as form data: one hours line per mission day."""
    claim = mission.claim
    by_day = {h.day: h for h in claim.hours}
    return {
        "done": {True: "oui", False: "non"}.get(claim.done),
        "copies": claim.copies,
        "candidates": claim.candidates,
        "hours": [
            {
                "day": day.day,
                "start": by_day[day.day].start if day.day in by_day else None,
                "end": by_day[day.day].end if day.day in by_day else None,
            }
            for day in mission.days
        ],
        "version": claim.version,
    }


@dataclass(frozen=True, kw_only=True)
class PayView:
    """Everything the pay tab, the summary and the DEC's review show about the pay part."""

    entry: PayEntry
    basis: PayBasis
    applies: bool
    editable: bool
    estimate: PayEstimate
    minutes: int
    missing: list[Missing] = field(default_factory=list)

    @property
    def asks_copies(self) -> bool:
        return self.basis is PayBasis.COPIES

    @property
    def asks_candidates(self) -> bool:
        return self.basis is PayBasis.CANDIDATES_HOURS

    @property
    def asks_hours(self) -> bool:
        return self.basis in (PayBasis.CANDIDATES_HOURS, PayBasis.HOURS)


def pay_view(mission: Mission, rates: RateTable, entry: PayEntry | None = None) -> PayView:
    """The pay part as stored (or as ``entry`` holds it), its estimate and what it lacks."""
    claim = mission.claim
    entry = entry if entry is not None else stored_entry(claim)
    rate_class = mission.exam.rate_class
    applies = (
        mission.pay_applies
        and rate_class != NOT_REMUNERATED
        and claim.pay is not PartStatus.NO_COSTS
    )
    basis = PayBasis(mission.mission_type.pay_basis)
    return PayView(
        entry=entry,
        basis=basis,
        applies=applies,
        editable=applies and editable(claim, Part.PAY),
        estimate=estimate_pay(
            entry,
            rate_class if applies else NOT_REMUNERATED,
            mission.starts_on,
            rates,
            optional_test=mission.exam.optional_test,
        ),
        minutes=total_minutes(entry.hours),
        missing=pay_missing(entry, basis, rate_class, [d.day for d in mission.days])
        if applies
        else [],
    )


def pay_errors(mission: Mission, entry: PayEntry) -> list[FieldError]:
    """The domain's checks of the pay part as entered."""
    days = {d.day for d in mission.days}
    return [*check_counts(entry), *check_hours(entry.hours, days)]


def save_pay(mission: Mission, entry: PayEntry, now: dt.datetime, *, version) -> None:
    """Store the pay part as entered; the caller commits.

    :raise ClaimConflict: the pay part can no longer change, or the form is stale.
    """
    claim = mission.claim
    ensure_editable(claim, Part.PAY, version)
    # Read the stored lines before changing anything: loading them would autoflush
    # the half-made change and bump the version twice.
    kept = {(h.day, h.start, h.end): h for h in claim.hours}
    claim.done = entry.done
    claim.copies = entry.copies
    claim.candidates = entry.candidates
    claim.hours = [
        kept.get((line.day, line.start, line.end))
        or StoredHoursLine(day=line.day, start=line.start, end=line.end)
        for line in entry.hours
    ]
    # Always touch the row, so its version moves even when only hours lines changed.
    touch(claim, now)


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def not_done_warning(mission: Mission, entry: PayEntry) -> str | None:
    """What declaring the mission not done would leave unpaid, when it is newly declared.

    The travel entries are kept (a later "Oui" brings them back), but the
    intervenant must confirm they will not be reimbursed.
    """
    claim = mission.claim
    if entry.done is not False or claim.done is False:
        return None
    if not mission.travel_applies or not editable(claim, Part.TRAVEL):
        return None
    counts = [
        _count(len(claim.legs), "trajet", "trajets"),
        _count(len(claim.expenses), "frais", "frais"),
        _count(len(claim.documents), "document", "documents"),
    ]
    entered = [text for text in counts if not text.startswith("0 ")]
    if not entered:
        return None
    what = " et ".join([", ".join(entered[:-1]), entered[-1]] if len(entered) > 1 else entered)
    return (
        f"Vous avez saisi des frais de déplacement ({what}) : si la mission n'a pas été "
        "effectuée, ils ne seront pas remboursés. Ils restent enregistrés : si vous indiquez "
        "« Oui » plus tard, ils seront repris. Cochez la case pour confirmer."
    )
