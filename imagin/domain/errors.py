"""Errors the domain reports about what a user entered, each pointing at its cause."""

from __future__ import annotations

from dataclasses import dataclass

from imagin.domain.refs import FieldRef, ReceiptRef


@dataclass(frozen=True)
class FieldError:
    """A French message to show beside the field it is about."""

    ref: FieldRef
    message: str


@dataclass(frozen=True)
class Missing:
    """Something to enter (a field) or to upload (a receipt) before validating."""

    message: str
    target: FieldRef | ReceiptRef
