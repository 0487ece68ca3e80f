"""The account a portal identity signs into: linked, matched by e-mail, or created.

No Flask here: the caller gives the database session, the profile, the
group → bureau mapping, the address and the time, and commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from imagin.auth.profile import PortalProfile, bureau_codes_for
from imagin.domain.roles import Role
from imagin.models import AuthEvent, Bureau, PortalEstablishment, PortalIdentity, User

log = logging.getLogger(__name__)

# Why a portal sign-in was refused: what the journal says, and what the person reads.
REFUSALS: dict[str, tuple[str, str]] = {
    "untrusted_address": (
        "En-têtes d'identité venus d'une adresse non autorisée",
        "Votre identité n'a pas été transmise par le portail de l'académie.",
    ),
    "wrong_secret": (
        "En-têtes d'identité sans le secret partagé attendu",
        "Votre identité n'a pas été transmise par le portail de l'académie.",
    ),
    "bad_subject": (
        "Identifiant du portail absent ou invalide",
        "Le portail a transmis un identifiant vide ou multiple : la connexion est refusée. "
        "Contactez l'assistance informatique de l'académie.",
    ),
    "no_email": (
        "Adresse électronique absente",
        "Le portail n'a pas transmis d'adresse électronique valable : votre compte IMAG'IN ne "
        "peut pas être créé. Contactez l'assistance informatique de l'académie.",
    ),
    "email_unverified": (
        "Adresse électronique non vérifiée par le fournisseur",
        "Votre adresse électronique n'est pas confirmée par le fournisseur d'identité : elle "
        "ne peut pas être reliée à votre compte IMAG'IN. Contactez la DEC.",
    ),
    "email_taken": (
        "Adresse déjà reliée à un autre identifiant du portail",
        "Un compte IMAG'IN utilise déjà cette adresse électronique avec un autre identifiant "
        "du portail. Contactez la DEC pour qu'elle vérifie votre compte.",
    ),
    "inactive": (
        "Compte désactivé",
        "Votre compte IMAG'IN est désactivé. Contactez la DEC.",
    ),
    "state": (
        "Réponse sans demande de connexion correspondante (state)",
        "Cette réponse du portail ne correspond à aucune connexion en cours dans ce navigateur "
        "(lien expiré, ouvert ailleurs ou falsifié). Recommencez la connexion.",
    ),
    "cancelled": (
        "Connexion annulée ou refusée par le fournisseur",
        "La connexion a été annulée ou refusée par le portail de l'académie.",
    ),
    "code": (
        "Code d'autorisation refusé par le fournisseur (rejoué, expiré ou volé)",
        "Le portail a refusé de confirmer cette connexion (code déjà utilisé ou expiré). "
        "Recommencez la connexion.",
    ),
    "no_id_token": (
        "Réponse du fournisseur sans jeton d'identité",
        "Le portail n'a pas transmis votre identité. Recommencez la connexion.",
    ),
    "signature": (
        "Jeton d'identité : signature invalide",
        "L'identité transmise n'a pas pu être vérifiée (signature invalide) : la connexion "
        "est refusée.",
    ),
    "issuer": (
        "Jeton d'identité : émetteur inattendu",
        "L'identité transmise ne vient pas du fournisseur d'identité attendu : la connexion "
        "est refusée.",
    ),
    "audience": (
        "Jeton d'identité : destiné à une autre application",
        "L'identité transmise était destinée à une autre application qu'IMAG'IN : la connexion "
        "est refusée.",
    ),
    "expired": (
        "Jeton d'identité : expiré",
        "L'identité transmise a expiré avant d'arriver : la connexion est refusée. "
        "Recommencez la connexion.",
    ),
    "not_yet_valid": (
        "Jeton d'identité : émis dans le futur",
        "L'identité transmise porte une date à venir : la connexion est refusée. Recommencez "
        "la connexion.",
    ),
    "nonce": (
        "Jeton d'identité : nonce différent (rejeu)",
        "L'identité transmise ne correspond pas à cette demande de connexion : la connexion "
        "est refusée.",
    ),
    "token": (
        "Jeton d'identité invalide",
        "L'identité transmise n'a pas pu être vérifiée : la connexion est refusée.",
    ),
    "userinfo": (
        "Informations utilisateur incohérentes avec le jeton d'identité",
        "Les informations transmises par le portail sont incohérentes : la connexion est refusée.",
    ),
    "unreachable": (
        "Fournisseur d'identité injoignable",
        "Le service de connexion de l'académie ne répond pas. Réessayez dans quelques minutes, "
        "ou connectez-vous plus tard.",
    ),
}

# What the sign-in journal calls each event.
EVENT_LABELS = {
    "sign_in": "Connexion par le portail",
    "refused": "Connexion par le portail refusée",
    "account_created": "Compte créé à la première connexion",
    "account_linked": "Compte existant relié au portail",
    "rights_changed": "Droits de gestionnaire modifiés",
}
METHOD_LABELS = {"headers": "Portail (en-têtes)", "oidc": "OpenID Connect"}


class PortalRefused(Exception):
    """A portal sign-in that must not happen; ``reason`` is a key of REFUSALS."""

    def __init__(self, reason: str, status: int = 403):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.journaled = False

    @property
    def message(self) -> str:
        return REFUSALS[self.reason][1]


@dataclass(frozen=True)
class Where:
    """Where a request came from: the direct peer, and the client it forwarded for."""

    peer: str | None
    client: str | None

    def __str__(self) -> str:
        if self.client and self.client != self.peer:
            return f"{self.peer or '?'} → {self.client}"
        return self.peer or self.client or "?"


def record(
    db: Session,
    action: str,
    profile: PortalProfile | None,
    *,
    method: str,
    where: Where,
    at: dt.datetime,
    user: User | None = None,
    subject: str | None = None,
    reason: str | None = None,
    detail: dict | None = None,
) -> None:
    """Add an event to the sign-in journal (committed by the caller)."""
    db.add(
        AuthEvent(
            at=at,
            action=action,
            method=method,
            user=user,
            subject=(profile.subject if profile else subject or None),
            address=str(where)[:100],
            reason=reason,
            detail=detail,
        )
    )


def portal_account(
    db: Session,
    profile: PortalProfile,
    group_bureaus: Mapping[str, tuple[str, ...]],
    *,
    where: Where,
    now: dt.datetime,
) -> User:
    """The account this identity signs into, brought up to date with what the portal says.

    Linked by the stable subject; the first time, matched by e-mail to an existing
    account (an imported intervenant keeps his missions), else created as an
    intervenant's. Names, e-mail, establishments and gestionnaire rights are
    refreshed. Events are added to the journal; the caller commits.

    :raise PortalRefused: the account cannot be used (see REFUSALS).
    """
    identity = db.scalar(
        select(PortalIdentity)
        .where(
            PortalIdentity.method == profile.method,
            PortalIdentity.issuer == profile.issuer,
            PortalIdentity.subject == profile.subject,
        )
        .options(selectinload(PortalIdentity.establishments))
    )
    if identity is None:
        identity = _new_identity(db, profile, where=where, now=now)
    user = identity.user
    if not user.active:
        raise PortalRefused("inactive")
    if user.password_hash is not None:
        # A password chosen while the portal sign-in was off: the portal alone lets him in again.
        user.password_hash = None
        user.rotate_session_token()
    identity.last_sign_in_at = now
    identity.academy = profile.academy
    identity.functions = list(profile.functions)
    identity.groups = list(profile.groups)
    _refresh_establishments(identity, profile)
    detail = _refresh_names(db, user, profile)
    _apply_group_rights(db, user, profile, group_bureaus, where=where, now=now)
    record(
        db,
        "sign_in",
        profile,
        method=profile.method,
        where=where,
        at=now,
        user=user,
        detail=detail or None,
    )
    return user


def _new_identity(
    db: Session, profile: PortalProfile, *, where: Where, now: dt.datetime
) -> PortalIdentity:
    user = None
    if profile.email:
        user = db.scalar(
            select(User)
            .where(func.lower(User.email) == profile.email.lower())
            .options(selectinload(User.identities))
        )
    if user is not None:
        if not profile.email_verified:
            raise PortalRefused("email_unverified")
        if any(i.method == profile.method and i.issuer == profile.issuer for i in user.identities):
            raise PortalRefused("email_taken")
        # The portal alone lets him in now: his password goes (below) with the sessions it opened.
        record(
            db,
            "account_linked",
            profile,
            method=profile.method,
            where=where,
            at=now,
            user=user,
            detail={"password_removed": user.password_hash is not None},
        )
    else:
        if not profile.email:
            raise PortalRefused("no_email")
        user = User(
            email=profile.email, role=Role.INTERVENANT.value, password_hash=None, active=True
        )
        db.add(user)
        record(
            db, "account_created", profile, method=profile.method, where=where, at=now, user=user
        )
    identity = PortalIdentity(
        user=user,
        method=profile.method,
        issuer=profile.issuer,
        subject=profile.subject,
        created_at=now,
        last_sign_in_at=now,
        functions=[],
        groups=[],
    )
    db.add(identity)
    return identity


def _refresh_establishments(identity: PortalIdentity, profile: PortalProfile) -> None:
    """Keep the rows still listed, drop the others, add the new ones (no delete-then-insert)."""
    wanted = {(e.uai, e.responsible): e for e in profile.establishments}
    for row in list(identity.establishments):
        kept = wanted.pop((row.uai, row.responsible), None)
        if kept is None:
            identity.establishments.remove(row)
        else:
            row.raw = kept.raw
    for e in wanted.values():
        identity.establishments.append(
            PortalEstablishment(uai=e.uai, responsible=e.responsible, raw=e.raw)
        )


def _refresh_names(db: Session, user: User, profile: PortalProfile) -> dict:
    """Names and e-mail as the portal has them now; an address another account uses is kept."""
    detail = {}
    if profile.first_name or profile.last_name:
        user.first_name = profile.first_name
        user.last_name = profile.last_name
    if profile.email and profile.email != user.email:
        taken = db.scalar(
            select(User.id).where(
                func.lower(User.email) == profile.email.lower(), User.id != user.id
            )
        )
        if taken is None:
            detail["email"] = {"before": user.email, "after": profile.email}
            user.email = profile.email
        else:
            log.warning(
                "Portal e-mail %s of %s already belongs to account %s: kept %s",
                profile.email,
                profile.subject,
                taken,
                user.email,
            )
            detail["email_kept"] = {"portal": profile.email, "kept": user.email}
    return detail


def _apply_group_rights(
    db: Session,
    user: User,
    profile: PortalProfile,
    group_bureaus: Mapping[str, tuple[str, ...]],
    *,
    where: Where,
    now: dt.datetime,
) -> None:
    """Gestionnaire of exactly the bureaus the portal groups map to; none: intervenant.

    Without a mapping the portal does not manage rights; admins keep theirs.
    """
    if not group_bureaus or user.role == Role.ADMIN:
        return
    codes = bureau_codes_for(profile.groups, group_bureaus)
    bureaus = list(db.scalars(select(Bureau).where(Bureau.code.in_(codes)).order_by(Bureau.code)))
    missing = codes - {b.code for b in bureaus}
    if missing:
        log.warning(
            "IMAGIN_SSO_GROUP_BUREAUS names unknown bureaus: %s", ", ".join(sorted(missing))
        )
    before = (user.role, sorted(b.code for b in user.bureaus))
    # A chef de centre without DEC groups stays one (see imagin.centre.portal).
    role = (
        Role.GESTIONNAIRE
        if bureaus
        else Role.CHEF_CENTRE
        if user.role == Role.CHEF_CENTRE
        else Role.INTERVENANT
    )
    after = (role.value, [b.code for b in bureaus])
    if before == after:
        return
    user.role, user.bureaus = after[0], bureaus
    record(
        db,
        "rights_changed",
        profile,
        method=profile.method,
        where=where,
        at=now,
        user=user,
        detail={
            "before": {"role": before[0], "bureaus": before[1]},
            "after": {"role": after[0], "bureaus": after[1]},
        },
    )
