"""Who acts in IMAG'IN: the stored role of an account."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """An account's role; stored as its value."""

    INTERVENANT = "intervenant"
    GESTIONNAIRE = "gestionnaire"
    ADMIN = "admin"
    # Certifies the service fait of the missions of his exam centres (see centre_chief).
    CHEF_CENTRE = "chef_centre"

    @property
    def label(self) -> str:
        """ "Intervenant", "Gestionnaire", "Admin", "Chef de centre"."""
        return "Chef de centre" if self is Role.CHEF_CENTRE else self.value.capitalize()


# Who may use the back office: gestionnaires of their bureaus, admins of every bureau.
MANAGERS = frozenset({Role.GESTIONNAIRE, Role.ADMIN})
