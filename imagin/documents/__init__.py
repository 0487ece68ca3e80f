"""Supporting documents (pièces justificatives): checks, storage, the claim's PDF bundle.

The modules are imported where used, so that ``imagin.documents.checks`` stays
free of Flask and of the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def __getattr__(name: str):
    # The blueprint is loaded on first use (``documents.bp`` in create_app), so that
    # importing ``imagin.documents.checks`` does not import Flask views.
    if name == "bp":
        from imagin.documents.views import bp

        return bp
    raise AttributeError(name)


def init_app(app: Flask) -> None:
    """Register the ``imagin documents`` commands."""
    from imagin.documents.cli import documents_cli

    if "documents" not in app.cli.commands:
        app.cli.add_command(documents_cli)
