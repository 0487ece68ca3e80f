"""Errors the domain reports about what a user entered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """A French message to show beside the form field it is about (e.g. "hours-0-start")."""

    field: str
    message: str


@dataclass(frozen=True)
class Missing:
    """Something to enter before validating, with the anchor of the field to go to."""

    message: str
    anchor: str
