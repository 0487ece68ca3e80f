"""Base form classes: French messages from WTForms' own catalogue, and shared fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import wtforms
from flask import request, session
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, IntegerField
from wtforms.validators import StopValidation

from imagin.csrf_tokens import ReusedCSRF

# What someone typed in a form refused for its CSRF token, waiting for the form's next display.
KEPT_KEY = "kept_form"
View = TypeVar("View", bound=Callable[..., Any])


def keeps_typed_values(view: View) -> View:
    """Mark a view whose form has visible fields: after a CSRF failure, what was typed is
    shown again in those fields (never posted again for the user); see imagin.errors."""
    view.keeps_typed_values = True  # type: ignore[attr-defined]
    return view


def _kept_for(form: wtforms.Form) -> MultiDict | None:
    """The kept values if this form, shown now, is the one they were typed in.

    Only visible fields are filled: hidden ones (versions, targets) keep what the page
    decides, so nothing chosen by the page that posted comes back unseen.
    """
    if request.method != "GET" or KEPT_KEY not in session:
        return None
    kept = session[KEPT_KEY]
    names = {name for name, _ in kept}
    visible = {field.name for field in form if not isinstance(field, HiddenField)}
    if not names or not names <= {field.name for field in form}:
        return None
    session.pop(KEPT_KEY)
    return MultiDict([(name, value) for name, value in kept if name in visible])


NUL_MESSAGE = "Ce champ contient un caractère invisible non autorisé : retapez-le."


def _refuse_nul_characters(fields) -> bool:
    """False (with the message on the field) where a value holds a NUL character, which no
    keyboard types and no database text column stores."""
    clean = True
    for field in fields:
        if isinstance(field, wtforms.FormField):
            clean = _refuse_nul_characters(field.form) and clean
        elif isinstance(field, wtforms.FieldList):
            clean = _refuse_nul_characters(field.entries) and clean
        elif any(isinstance(v, str) and "\x00" in v for v in field.raw_data or ()):
            field.errors = [*field.errors, NUL_MESSAGE]
            clean = False
    return clean


class Form(FlaskForm):
    """A POST form with its CSRF field, in French."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return _refuse_nul_characters(self) and valid

    class Meta(FlaskForm.Meta):
        locales = ("fr_FR", "fr")
        csrf_class = ReusedCSRF

        def wrap_formdata(self, form, formdata):
            kept = _kept_for(form)
            if kept is not None:
                return kept
            return super().wrap_formdata(form, formdata)


class QueryForm(wtforms.Form):
    """A GET form (filters, live estimates): no CSRF, in French."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return _refuse_nul_characters(self) and valid

    class Meta:
        locales = ("fr_FR", "fr")


class WholeNumberField(IntegerField):
    """An integer typed by a person: says plainly what is expected when it is not one."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError("Saisissez un nombre entier, sans virgule (par exemple 40).") from None

    def pre_validate(self, form) -> None:
        # What was typed is not a number: say that alone, not also that it is out of range.
        if self.process_errors:
            raise StopValidation()
