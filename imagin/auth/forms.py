"""The sign-in form and the forms to choose a password."""

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from imagin.forms import Form


def email_field() -> EmailField:
    """The account's address, as the sign-in form and the password link ask for it."""
    return EmailField(
        "Adresse électronique",
        validators=[
            DataRequired("Saisissez votre adresse électronique."),
            Length(max=254, message="Cette adresse est trop longue."),
        ],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )


class LoginForm(Form):
    email = email_field()
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired("Saisissez votre mot de passe."),
            Length(max=1024, message="Ce mot de passe est trop long."),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordLinkForm(Form):
    """Asking for a link to choose a password."""

    email = email_field()


class NewPasswordForm(Form):
    """Choosing a password from a signed link."""

    password = PasswordField(
        "Nouveau mot de passe",
        validators=[
            DataRequired("Choisissez un mot de passe."),
            Length(min=12, max=1024, message="Au moins 12 caractères."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[
            DataRequired("Saisissez le mot de passe une seconde fois."),
            EqualTo("password", message="Les deux mots de passe sont différents."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
