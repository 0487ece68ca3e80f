"""For admins: who is chef de centre of which exam centre, and each bureau's setting
"service fait required before the DEC validates"."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, EmailField, HiddenField
from wtforms.validators import DataRequired, Length, Regexp

from imagin.db import get_db
from imagin.domain.roles import Role
from imagin.forms import Form
from imagin.models import Bureau, ExamCentre, Mission, User
from imagin.rendering import back_to, render_page

bp = Blueprint("centre_admin", __name__, url_prefix="/admin/service-fait")


class ChiefForm(Form):
    email = EmailField(
        "Adresse e-mail du chef de centre",
        validators=[
            DataRequired("Indiquez l'adresse e-mail du chef de centre."),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Cette adresse e-mail n'est pas valide."),
            Length(max=254, message="Cette adresse est trop longue."),
        ],
    )


class RemoveForm(Form):
    user_id = HiddenField()


class BureauForm(Form):
    required = BooleanField("Service fait exigé avant la validation par la DEC")


@bp.before_request
@login_required
def require_admin() -> None:
    """Admins only; anyone else gets the 404 of a page that does not exist."""
    if current_user.role != Role.ADMIN:
        abort(404)


def _page(*, forms=None, status: int = 200):
    db = get_db()
    centres = db.scalars(
        select(ExamCentre).options(selectinload(ExamCentre.chiefs)).order_by(ExamCentre.code)
    ).all()
    forms = forms or {}
    return render_page(
        "centre/admin.html",
        status=status,
        centres=centres,
        bureaus=db.scalars(select(Bureau).order_by(Bureau.code)).all(),
        chief_forms={c.id: forms.get(c.id) or ChiefForm(prefix=f"c{c.id}") for c in centres},
        remove_form=RemoveForm(),
        bureau_form=BureauForm(),
    )


@bp.get("")
def index():
    """The exam centres with their chefs de centre, and the bureaus' service-fait setting."""
    return _page()


def _centre(centre_id: int) -> ExamCentre:
    centre = get_db().get(ExamCentre, centre_id)
    if centre is None:
        abort(404)
    return centre


@bp.post("/centres/<int(max=2147483647):centre_id>/chefs")
def add_chief(centre_id: int):
    """Attach a chef de centre to an exam centre; an unknown address gets a new account."""
    db = get_db()
    centre = _centre(centre_id)
    form = ChiefForm(prefix=f"c{centre_id}")
    if not form.validate():
        return _page(forms={centre_id: form}, status=422)
    email = form.email.data.strip().lower()
    user = db.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        # No password: he signs in through the portal, or asks for a first-sign-in link.
        user = User(email=email, role=Role.CHEF_CENTRE.value)
        db.add(user)
    elif user.role in (Role.GESTIONNAIRE, Role.ADMIN):
        form.email.errors.append("Un compte de la DEC ne peut pas être chef de centre.")
        return _page(forms={centre_id: form}, status=422)
    elif user.role == Role.INTERVENANT:
        if db.scalar(select(Mission.id).where(Mission.intervenant_id == user.id).limit(1)):
            form.email.errors.append(
                "Ce compte est celui d'un intervenant convoqué : il ne peut pas certifier "
                "le service fait (utilisez une autre adresse)."
            )
            return _page(forms={centre_id: form}, status=422)
        user.role = Role.CHEF_CENTRE.value
    if user not in centre.chiefs:
        centre.chiefs.append(user)
    db.commit()
    return back_to(url_for("centre_admin.index"), f"{email} est chef de centre de {centre.name}.")


@bp.post("/centres/<int(max=2147483647):centre_id>/chefs/retirer")
def remove_chief(centre_id: int):
    """Detach a chef de centre from an exam centre (his account stays)."""
    db = get_db()
    centre = _centre(centre_id)
    form = RemoveForm()
    form.validate()
    user_id = request.form.get("user_id", type=int)
    centre.chiefs = [chief for chief in centre.chiefs if chief.id != user_id]
    db.commit()
    return back_to(url_for("centre_admin.index"), f"Chef de centre retiré de {centre.name}.")


@bp.post("/bureaux/<int(max=2147483647):bureau_id>")
def bureau_setting(bureau_id: int):
    """Whether this bureau's DEC waits for the service fait before validating."""
    db = get_db()
    bureau = db.get(Bureau, bureau_id)
    if bureau is None:
        abort(404)
    form = BureauForm()
    form.validate()
    bureau.service_fait_required = bool(form.required.data)
    db.commit()
    said = "exigé" if bureau.service_fait_required else "non exigé"
    return back_to(
        url_for("centre_admin.index"), f"{bureau.name} : service fait {said} avant validation."
    )
