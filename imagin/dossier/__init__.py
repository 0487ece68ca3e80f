"""The dossier financier: the intervenant's page, the DEC's checks, the encrypted numbers.

The blueprint is loaded on first use, so that the service and the CLI do not import views.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "bp":
        from imagin.dossier.views import bp

        return bp
    raise AttributeError(name)
