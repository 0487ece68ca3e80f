"""Base form classes: French messages from WTForms' own catalogue, and shared fields."""

from __future__ import annotations

import wtforms
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import StopValidation

from imagin.csrf_tokens import ReusedCSRF


class Form(FlaskForm):
    """A POST form with its CSRF field, in French."""

    class Meta:
        locales = ("fr_FR", "fr")
        csrf_class = ReusedCSRF


class QueryForm(wtforms.Form):
    """A GET form (filters, live estimates): no CSRF, in French."""

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
