"""Why an uploaded document is refused, as French messages with an HTTP status."""

from __future__ import annotations

MIB = 1024 * 1024

# A refused upload is a bad input to show beside the file field (422), except a
# body that is simply too big (413, as Flask says for an oversized request).
UNPROCESSABLE = 422
TOO_LARGE = 413

UNSUPPORTED_FORMAT = "Format non accepté : seuls gif, jpeg, jpg, png et pdf sont acceptés."
EMPTY_FILE = "Le fichier est vide."
TOO_MANY_PIXELS = "Image trop grande ({megapixels} millions de pixels au maximum)."
STORED_JPEG_TOO_LARGE = (
    "Même recompressée, cette photo dépasserait {size} : réduisez sa définition "
    "(par exemple en la photographiant à nouveau en qualité moyenne) puis déposez-la à nouveau."
)
STORED_PNG_TOO_LARGE = (
    "Une fois nettoyée de ses métadonnées, cette image dépasserait {size} en PNG : "
    "enregistrez-la en JPEG ou en PDF, puis déposez-la à nouveau."
)
TOO_MANY_GIF_PIXELS = (
    "Ce GIF animé est trop grand : ses images comptent ensemble plus de {megapixels} millions "
    "de pixels. Envoyez une image fixe ou un PDF."
)
TOO_MANY_FRAMES = (
    "Ce GIF animé compte trop d'images ({frames} au maximum) : envoyez une image fixe ou un PDF."
)
ENCRYPTED_PDF = "Les PDF protégés par mot de passe ne sont pas acceptés."
ACTIVE_PDF = "Ce PDF contient du JavaScript ou des actions automatiques : il n'est pas accepté."
EMBEDDED_FILES_PDF = "Ce PDF contient des fichiers joints : il n'est pas accepté."
EMPTY_PDF = "Ce PDF ne contient aucune page."
TOO_MANY_PAGES = "Ce PDF compte trop de pages ({pages} au maximum)."
TOO_COMPLEX_PDF = (
    "Ce PDF est trop complexe pour être vérifié : enregistrez-le à nouveau "
    "(« Imprimer » puis « Enregistrer au format PDF ») et déposez-le."
)
DUPLICATE = "Ce fichier est déjà déposé pour ce dossier (« {name} »)."
QUOTA_FILES = (
    "Ce dossier compte déjà {count} pièces justificatives, le maximum : "
    "regroupez-en plusieurs dans un seul PDF."
)
QUOTA_BYTES = "Les pièces de ce dossier dépasseraient {size} au total, le maximum autorisé."


def format_size(size: int) -> str:
    """A byte count in the units users see on the form: "5 Mo", "2,5 Mo", "800 Ko"."""
    if size >= MIB:
        tenths = size * 10 // MIB
        whole, tenth = divmod(tenths, 10)
        return f"{whole} Mo" if tenth == 0 else f"{whole},{tenth} Mo"
    return f"{max(1, size // 1024)} Ko"


def too_big_message(max_bytes: int) -> str:
    """The message for a file over the limit, e.g. "Le fichier dépasse 5 Mo."."""
    return f"Le fichier dépasse {format_size(max_bytes)} : envoyez une version plus légère."


class DocumentRefused(Exception):
    """An upload that is not kept, with the French message to show and the HTTP status."""

    def __init__(self, message: str, status: int = UNPROCESSABLE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FileTooLarge(DocumentRefused):
    """The upload is over the size limit; nothing of it was kept."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(too_big_message(max_bytes), TOO_LARGE)
        self.max_bytes = max_bytes


class DuplicateDocument(DocumentRefused):
    """The same content is already among the claim's documents (same SHA-256)."""

    def __init__(self, existing_name: str, existing_id: int | None = None) -> None:
        super().__init__(DUPLICATE.format(name=existing_name))
        self.existing_name = existing_name
        self.existing_id = existing_id


class QuotaExceeded(DocumentRefused):
    """The claim already holds as many documents, or as many bytes, as allowed."""
