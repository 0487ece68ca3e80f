"""/profil: the communes of residence and the vehicle the travel allowances are computed from."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_login import current_user, login_required

from imagin.db import get_db
from imagin.forms import keeps_typed_values
from imagin.missions.queries import MAX_MISSION_NUMBER
from imagin.models import User
from imagin.profile.forms import ProfileForm
from imagin.rendering import back_to, render_page

bp = Blueprint("profile", __name__)


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


def _back_number() -> int | None:
    """The mission the intervenant came from (a link back to its Frais déplacement tab)."""
    number = request.args.get("number", type=int)
    return number if number and 0 < number <= MAX_MISSION_NUMBER else None


@bp.route("/profil", methods=["GET", "POST"])
@keeps_typed_values
def edit():
    """Show and save the communes of residence and the vehicle's fiscal horsepower."""
    user = get_db().get(User, current_user.id)
    form = ProfileForm(obj=user)
    number = _back_number()
    if form.validate_on_submit():
        user.family_commune = (form.family_commune.data or "").strip()
        user.admin_commune = (form.admin_commune.data or "").strip()
        user.vehicle_cv = form.vehicle_cv.data
        user.reduced_mobility = bool(form.reduced_mobility.data)
        get_db().commit()
        return back_to(
            url_for("profile.edit", number=number),
            "Profil enregistré : il s'applique à vos états de frais non validés.",
        )
    status = 422 if request.method == "POST" else 200
    return render_page("profile/profil.html", status=status, form=form, number=number)
