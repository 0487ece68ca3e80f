"""Chefs de centre from the académie portal: someone in one of the configured portal groups
(``IMAGIN_SSO_CHIEF_GROUPS``) is chef de centre of the exam centres whose code is a UAI
he heads (FrEduRneResp / fr_edu_rne_resp). With the setting on, the portal decides at
each sign-in: an establishment he no longer heads is no longer his to certify."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from imagin.auth.profile import PortalProfile
from imagin.domain.roles import MANAGERS, Role
from imagin.models import ExamCentre, User, centre_chief


def apply_chief_rights(
    db: Session, user: User, profile: PortalProfile, chief_groups: Collection[str]
) -> None:
    """Attach the account to the exam centres the portal says he heads; the caller commits."""
    if not chief_groups:
        return
    is_chief = any(group.casefold() in chief_groups for group in profile.groups)
    heads = {e.uai.upper() for e in profile.establishments if e.responsible} if is_chief else set()
    centres = set(db.scalars(select(ExamCentre.id).where(ExamCentre.code.in_(heads))))
    attached = set(
        db.scalars(select(centre_chief.c.centre_id).where(centre_chief.c.user_id == user.id))
    )
    if gone := attached - centres:
        db.execute(
            delete(centre_chief).where(
                centre_chief.c.user_id == user.id, centre_chief.c.centre_id.in_(gone)
            )
        )
    if new := centres - attached:
        db.execute(insert(centre_chief), [{"centre_id": c, "user_id": user.id} for c in new])
    if user.role in MANAGERS:
        return
    if centres:
        user.role = Role.CHEF_CENTRE.value
    elif user.role == Role.CHEF_CENTRE:
        user.role = Role.INTERVENANT.value
