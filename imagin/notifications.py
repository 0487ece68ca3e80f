"""The e-mails IMAG'IN sends to intervenants, in French, queued in the caller's transaction.

Each ``notify_*`` function only queues the message (see ``imagin.mail``): call
it in the same transaction as the change it announces, before the commit.
The ``*_message`` functions only compose it, for callers that queue in bulk.
The mission passed must have its intervenant, exam, session, centre, bureau
and days loaded (or loadable) — ``get_managed_mission`` loads them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from imagin.auth.tokens import password_token
from imagin.mail import queue_mail
from imagin.models import ExamCentre, Mission, MissionDay, OutgoingMail, PasswordLinkRequest, User
from imagin.rendering import euros, long_date_fr, time_fr

PART_NAMES = {"pay": "frais de rémunération", "travel": "frais de déplacement"}
SIGNATURE = "Ce message est envoyé automatiquement par IMAG'IN, merci de ne pas y répondre."


# What the e-mails to intervenants say about a mission (and its claim), loaded with it.
MESSAGE_LOADING = (
    joinedload(Mission.claim),
    joinedload(Mission.intervenant),
    joinedload(Mission.exam),
    joinedload(Mission.session),
    joinedload(Mission.centre),
    joinedload(Mission.bureau),
    selectinload(Mission.days),
)


class Message(NamedTuple):
    to: str
    subject: str
    body: str


def external_url(endpoint: str, **values) -> str:
    """The absolute address of a page, for a link in an e-mail: PUBLIC_URL and URL_PREFIX.

    Never the address a request came by: its Host header is the sender's to choose,
    and a link in an e-mail (a password link among them) must lead to the site.
    """
    app = current_app
    public = urlsplit(app.config.get("PUBLIC_URL") or "http://127.0.0.1:8080")
    adapter = app.url_map.bind(
        public.netloc,
        script_name=public.path.rstrip("/") + app.config.get("URL_PREFIX", ""),
        url_scheme=public.scheme or "http",
    )
    return adapter.build(endpoint, values, force_external=True)


def mission_url(mission: Mission) -> str:
    return external_url("missions.suivi", number=mission.number)


def password_link_message(user: User) -> Message:
    """A link to choose a password: first sign-in, or a forgotten one."""
    link = external_url("auth.set_password", token=password_token(user))
    lines = [
        f"Bonjour {user.first_name},".replace(" ,", ","),
        "",
        "Pour choisir votre mot de passe IMAG'IN, ouvrez ce lien (valable 7 jours, "
        "une seule fois) :",
        link,
        "",
        "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.",
        "",
        SIGNATURE,
    ]
    return Message(user.email, "IMAG'IN — choisir votre mot de passe", "\n".join(lines))


def queue_requested_password_links(db: Session, limit: int = 100) -> int:
    """Turn stored password-link requests into messages, for the accounts that exist.

    Run by the background sender, so that the form's answer does not depend on
    the account. Commits; returns how many requests were handled.
    """
    requests = list(
        db.scalars(
            select(PasswordLinkRequest)
            .order_by(PasswordLinkRequest.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    from imagin.auth.portal import signs_in_with_portal

    for link_request in requests:
        user = db.scalar(select(User).where(func.lower(User.email) == link_request.email.lower()))
        # Portal accounts have no password: the portal alone lets them in.
        if user is not None and user.active and not signs_in_with_portal(db, user.id):
            queue_mail(db, *password_link_message(user))
        db.delete(link_request)
    db.commit()
    return len(requests)


def notify_convocation(db: Session, mission: Mission) -> OutgoingMail:
    """Tell the intervenant about a new mission, with its details and the link."""
    return queue_mail(db, *convocation_message(mission))


def notify_sent_back(db: Session, mission: Mission, part: str, reason: str) -> OutgoingMail:
    """Tell the intervenant that one part of the claim is "À corriger", and why."""
    return queue_mail(db, *sent_back_message(mission, part, reason))


def notify_approved(db: Session, mission: Mission, part: str) -> OutgoingMail:
    """Tell the intervenant that one part of the claim is "Validé par gestionnaire"."""
    return queue_mail(db, *approved_message(mission, part))


def notify_mission_changed(db: Session, mission: Mission, changes: list[str]) -> OutgoingMail:
    """Tell the intervenant that the DEC changed the mission's dates, times or place."""
    return queue_mail(db, *mission_changed_message(mission, changes))


def notify_mission_cancelled(db: Session, mission: Mission, reason: str) -> OutgoingMail:
    """Tell the intervenant that the mission is cancelled, and why."""
    return queue_mail(db, *mission_cancelled_message(mission, reason))


def day_text(day: MissionDay) -> str:
    """ "le vendredi 02/12/2022 à 09:00 (1 journée)"."""
    return (
        f"le {long_date_fr(day.day)} à {time_fr(day.start_time)} "
        f"({_days(day.half_days)} journée{'s' if day.half_days > 2 else ''})"
    )


def days_text(days: Iterable[MissionDay]) -> str:
    """A mission's days in one line, as a change of them is told."""
    return " ; ".join(day_text(day) for day in sorted(days, key=lambda d: d.day))


def place_text(centre: ExamCentre) -> str:
    """ "LYCEE MALHERBE (0140061H), CAEN"."""
    return f"{centre.name} ({centre.code}), {centre.commune}"


def convocation_message(mission: Mission) -> Message:
    """The convocation: the mission's details, its days, the rights it gives and the link."""
    days = "\n".join(
        f"  - le {long_date_fr(day.day)} à {time_fr(day.start_time)}, "
        f"durée : {_days(day.half_days)} journée(s)"
        for day in mission.days
    )
    rights = []
    if mission.pay_applies:
        rights.append("cette mission est rémunérée")
    if mission.travel_applies:
        rights.append("vos frais de déplacement sont pris en charge")
    lines = [
        _greeting(mission),
        "",
        f"Vous êtes convoqué(e) pour la mission N° {mission.number}.",
        "",
        *_facts(mission),
        f"Dates de la mission :\n{days}",
        "",
    ]
    if rights:
        lines += [f"Après la mission, {' et '.join(rights)} : déclarez-les dans IMAG'IN.", ""]
    lines += [f"Votre mission : {mission_url(mission)}", ""]
    if mission.intervenant.password_hash is None:
        link = external_url("auth.set_password", token=password_token(mission.intervenant))
        lines += [
            "Première connexion : choisissez votre mot de passe avec ce lien (valable 7 jours) :",
            link,
            "",
        ]
    lines += [*_contact(mission)]
    subject = f"Convocation — mission N° {mission.number} — {mission.exam.name}"
    return Message(mission.intervenant.email, subject, "\n".join(lines))


def mission_changed_message(mission: Mission, changes: list[str]) -> Message:
    """What the DEC changed in the mission (dates, times, place), before → after."""
    return _about_the_mission(
        mission,
        f"Mission modifiée — mission N° {mission.number}",
        f"La DEC a modifié votre mission N° {mission.number} :",
        *(f"  - {change}" for change in changes),
        "",
        "Vos saisies sont conservées ; vérifiez-les au regard de ces changements.",
    )


def mission_cancelled_message(mission: Mission, reason: str) -> Message:
    """The mission is cancelled: nothing is to be claimed for it."""
    return _about_the_mission(
        mission,
        f"Mission annulée — mission N° {mission.number}",
        f"La DEC a annulé votre mission N° {mission.number} (statut « Annulé »).",
        "",
        "Motif :",
        reason.strip(),
    )


def sent_back_message(mission: Mission, part: str, reason: str) -> Message:
    """ "À corriger", with the reason the gestionnaire gave."""
    name = PART_NAMES[part]
    return _about_the_mission(
        mission,
        f"À corriger — mission N° {mission.number} — {name}",
        f"La DEC vous renvoie vos {name} de la mission N° {mission.number} "
        "pour correction (statut « À corriger »).",
        "",
        "Motif :",
        reason.strip(),
        "",
        "Vos saisies ont été conservées : corrigez-les puis validez à nouveau votre état de frais.",
    )


def approved_message(mission: Mission, part: str) -> Message:
    """ "Validé par gestionnaire" for one part."""
    name = PART_NAMES[part]
    return _about_the_mission(
        mission,
        f"Validé par gestionnaire — mission N° {mission.number} — {name}",
        f"La DEC a vérifié et validé vos {name} de la mission N° {mission.number} "
        "(statut « Validé par gestionnaire »). Ils seront prochainement mis en paiement.",
    )


def in_payment_message(mission: Mission, parts: Iterable[str], amount_cents: int) -> Message:
    """ "Mis en paiement" for the parts exported, with the amount (integer cents)."""
    names = " et ".join(PART_NAMES[part] for part in parts)
    return _about_the_mission(
        mission,
        f"Mis en paiement — mission N° {mission.number}",
        f"Vos {names} de la mission N° {mission.number} ont été mis en paiement "
        f"(statut « Mis en paiement ») pour un montant de {euros(amount_cents, cents=True)}.",
        "Le versement est effectué par le service de paie dans les semaines qui suivent.",
    )


def _about_the_mission(mission: Mission, subject: str, *news: str) -> Message:
    """A change of status: greeting, the news, the mission's facts, its link, the contact."""
    lines = [
        _greeting(mission),
        "",
        *news,
        "",
        *_facts(mission),
        f"Votre mission : {mission_url(mission)}",
        "",
        *_contact(mission),
    ]
    return Message(mission.intervenant.email, subject, "\n".join(lines))


def _greeting(mission: Mission) -> str:
    person = mission.intervenant
    name = f"{person.first_name} {person.last_name}".strip()
    return f"Bonjour {name}," if name else "Bonjour,"


def _facts(mission: Mission) -> list[str]:
    centre = mission.centre
    facts = [
        f"Examen : {mission.exam.name} ({mission.session.label})",
        f"Type de mission : {mission.mission_type.label}",
        f"Lieu : {centre.name} ({centre.code}), {centre.commune}",
    ]
    if mission.specialite:
        facts.append(f"Spécialité : {mission.specialite}")
    if mission.epreuve_option:
        facts.append(f"Épreuve option : {mission.epreuve_option}")
    return [*facts, ""]


def _contact(mission: Mission) -> list[str]:
    bureau = mission.bureau
    return [
        f"Pour toute question : {bureau.name}, {bureau.email}, {bureau.phone}.",
        "",
        SIGNATURE,
    ]


def _days(half_days: int) -> str:
    return "1" if half_days == 2 else f"{half_days / 2:g}".replace(".", ",")
