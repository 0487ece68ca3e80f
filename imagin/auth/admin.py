"""For admins: every account and how it signs in, and the journal of portal sign-ins."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, request
from flask_login import current_user, login_required
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from imagin.auth.identities import EVENT_LABELS, METHOD_LABELS, REFUSALS
from imagin.db import get_db
from imagin.domain.roles import Role
from imagin.forms import QueryForm
from imagin.models import AuthEvent, PortalIdentity, User
from imagin.rendering import render_page

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
ROLE_LABELS = {role.value: role.label for role in Role}
# How an account signs in, as the filter offers it.
WAYS = {
    "portail": "Portail de l'académie",
    "mot-de-passe": "Mot de passe",
    "aucun": "Pas encore de moyen de connexion",
}


@bp.before_request
@login_required
def require_admin() -> None:
    """Admins only; anyone else gets the 404 of a page that does not exist."""
    if current_user.role != Role.ADMIN:
        abort(404)


class AccountFilterForm(QueryForm):
    q = StringField("Nom ou adresse", validators=[Optional(), Length(max=100)])
    way = SelectField(
        "Connexion",
        choices=[SelectChoice("", "Toutes")] + [SelectChoice(k, v) for k, v in WAYS.items()],
        validators=[Optional()],
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])


@dataclass(frozen=True)
class Page:
    rows: list
    page: int
    has_next: bool


def _paginate(statement: Select, page: int) -> Page:
    """One page of rows, and whether another follows (one row more is read: no count)."""
    rows = list(get_db().scalars(statement.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    return Page(rows[:PER_PAGE], page, len(rows) > PER_PAGE)


def _accounts(q: str, way: str) -> Select:
    statement = select(User).order_by(func.lower(User.last_name), func.lower(User.email))
    if q:
        pattern = (
            "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        statement = statement.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (User.email, User.first_name, User.last_name)
                )
            )
        )
    has_identity = User.identities.any()
    if way == "portail":
        statement = statement.where(has_identity)
    elif way == "mot-de-passe":
        statement = statement.where(User.password_hash.is_not(None))
    elif way == "aucun":
        statement = statement.where(~has_identity, User.password_hash.is_(None))
    return statement.options(
        selectinload(User.bureaus),
        selectinload(User.identities).selectinload(PortalIdentity.establishments),
    )


@bp.get("/comptes")
def accounts():
    """Every account: its role, its bureaus, and how it signs in (portal, password, not yet)."""
    form = AccountFilterForm(request.args)
    form.validate()
    q = (form.q.data or "").strip() if not form.q.errors else ""
    way = form.way.data if form.way.data in WAYS else ""
    page = (form.page.data if not form.page.errors else None) or 1
    return render_page(
        "admin/accounts.html",
        form=form,
        result=_paginate(_accounts(q, way), page),
        role_labels=ROLE_LABELS,
        method_labels=METHOD_LABELS,
        portal_on=current_app.extensions["imagin.sso"].enabled,
        query_args={k: v for k, v in request.args.items() if k != "page" and v},
    )


@bp.get("/connexions")
def journal():
    """The journal of portal sign-ins: who, when, from where; refusals and their reason."""
    page = request.args.get("page", 1, type=int)
    if not 0 < page <= 100_000:
        page = 1
    refusals_only = request.args.get("refus") == "1"
    statement = (
        select(AuthEvent)
        .order_by(AuthEvent.at.desc(), AuthEvent.id.desc())
        .options(selectinload(AuthEvent.user))
    )
    if refusals_only:
        statement = statement.where(AuthEvent.action == "refused")
    return render_page(
        "admin/journal.html",
        result=_paginate(statement, page),
        refusals_only=refusals_only,
        query_args={"refus": "1"} if refusals_only else {},
        event_labels=EVENT_LABELS,
        method_labels=METHOD_LABELS,
        refusals=REFUSALS,
    )
