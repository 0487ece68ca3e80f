"""Sending supporting documents: the files, and which receipts of the computed list they justify."""

from __future__ import annotations

from wtforms import MultipleFileField, SelectMultipleField, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from imagin.documents.checks import EXTENSIONS
from imagin.forms import Form

NO_FILE = "Sélectionnez au moins un fichier."
UNKNOWN_RECEIPT = "Choisissez dans la liste ce que ce document justifie."
RECEIPTS_LABEL = "Ce document justifie"
# The extensions, then the types: phones offer their camera for image types.
ACCEPT = ",".join(
    [f".{extension}" for extension in EXTENSIONS]
    + ["image/gif", "image/jpeg", "image/png", "application/pdf"]
)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes: labels wrap on a phone, where a select cuts them."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReceiptsForm(Form):
    """What a document justifies: any number of the receipts the claim asks for."""

    receipts = MultiCheckboxField(RECEIPTS_LABEL, validate_choice=False)

    def __init__(self, choices: list[tuple[str, str]], default: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.receipts.choices = choices
        if self.receipts.data is None or (kwargs.get("formdata", True) is None):
            self.receipts.data = default

    def validate_receipts(self, field: SelectMultipleField) -> None:
        # Checked here rather than by the field, for a message that says what to do.
        offered = {value for value, _label in field.choices or []}
        if any(value not in offered for value in field.data or []):
            raise ValidationError(UNKNOWN_RECEIPT)


class UploadForm(ReceiptsForm):
    """One file per request under HTMX; any number in one request without JavaScript."""

    files = MultipleFileField("Sélectionner mes documents", id="pieces-files")

    def validate_files(self, field: MultipleFileField) -> None:
        if not self.uploads:
            raise ValidationError(NO_FILE)

    @property
    def uploads(self) -> list:
        """The files sent; a file input left empty still sends one part with no name."""
        return [upload for upload in self.files.data or [] if upload and upload.filename]
