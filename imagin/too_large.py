"""Which limit a request passed when Werkzeug says 413, and how to say it in French.

Werkzeug raises the same RequestEntityTooLarge for a body over MAX_CONTENT_LENGTH,
for a form of more than MAX_FORM_PARTS parts, and for a text field or a part's
headers over MAX_FORM_MEMORY_SIZE: each gets its own explanation.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

TOO_MANY_PARTS = (
    "Ce formulaire contient trop d'éléments ({count} au plus) : rien n'a été enregistré. "
    "Envoyez vos fichiers en plusieurs fois."
)
PART_TOO_LARGE = (
    "Un champ de ce formulaire, ou l'en-tête d'un fichier (son nom par exemple), est trop "
    "long : rien n'a été enregistré. Raccourcissez-le (renommez le fichier) et réessayez."
)


class Limit(enum.Enum):
    BODY = "body"
    PARTS = "parts"
    PART = "part"


def passed_limit(error: RequestEntityTooLarge, request: Request) -> Limit:
    """The limit this request passed."""
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and request.content_length > limit:
        return Limit.BODY
    # Werkzeug counts the parts in its multipart decoder's next_event; every other
    # place that raises measures a field's or a header's bytes.
    frame = None
    traceback = error.__traceback__
    while traceback is not None:
        frame, traceback = traceback.tb_frame, traceback.tb_next
    if frame is not None and frame.f_code.co_name == "next_event":
        return Limit.PARTS
    return Limit.PART


def form_message(limit: Limit, config: Mapping[str, Any]) -> str | None:
    """The French message of a form limit; None for the body's (the caller's own words)."""
    if limit is Limit.PARTS:
        return TOO_MANY_PARTS.format(count=int(config["MAX_FORM_PARTS"]))
    if limit is Limit.PART:
        return PART_TOO_LARGE
    return None
