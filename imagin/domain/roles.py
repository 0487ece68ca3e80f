"""Who acts in IMAG'IN: the stored role of an account."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """An account's role; stored as its value."""

    INTERVENANT = "intervenant"
    GESTIONNAIRE = "gestionnaire"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """ "Intervenant", "Gestionnaire", "Admin"."""
        return self.value.capitalize()


# Who may use the back office: gestionnaires of their bureaus, admins of every bureau.
MANAGERS = frozenset({Role.GESTIONNAIRE, Role.ADMIN})
