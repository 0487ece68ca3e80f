"""Sign-in form."""

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from imagin.forms import Form


class LoginForm(Form):
    email = EmailField(
        "Adresse électronique",
        validators=[
            DataRequired("Saisissez votre adresse électronique."),
            Length(max=254, message="Cette adresse est trop longue."),
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired("Saisissez votre mot de passe."),
            Length(max=1024, message="Ce mot de passe est trop long."),
        ],
        render_kw={"autocomplete": "current-password"},
    )
