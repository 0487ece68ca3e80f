"""Sending supporting documents: the files, and which receipt of the computed list they justify."""

from __future__ import annotations

from wtforms import MultipleFileField, SelectField, ValidationError

from imagin.documents.checks import EXTENSIONS
from imagin.forms import Form

NO_FILE = "Sélectionnez au moins un fichier."
UNKNOWN_RECEIPT = "Choisissez dans la liste ce que ce document justifie."
# The extensions, then the types: phones offer their camera for image types.
ACCEPT = ",".join(
    [f".{extension}" for extension in EXTENSIONS]
    + ["image/gif", "image/jpeg", "image/png", "application/pdf"]
)


class UploadForm(Form):
    """One file per request under HTMX; any number in one request without JavaScript."""

    receipt = SelectField("Ce document justifie", validate_choice=False, id="pieces-receipt")
    files = MultipleFileField("Sélectionner et envoyer mes documents", id="pieces-files")

    def __init__(self, choices: list[tuple[str, str]], default: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.receipt.choices = choices
        if self.receipt.data is None:
            self.receipt.data = default

    def validate_receipt(self, field: SelectField) -> None:
        # Checked here rather than by SelectField, for a message that says what to do.
        if field.data not in {key for key, _label in field.choices or []}:
            raise ValidationError(UNKNOWN_RECEIPT)

    def validate_files(self, field: MultipleFileField) -> None:
        if not self.uploads:
            raise ValidationError(NO_FILE)

    @property
    def uploads(self) -> list:
        """The files sent; a file input left empty still sends one part with no name."""
        return [upload for upload in self.files.data or [] if upload and upload.filename]
