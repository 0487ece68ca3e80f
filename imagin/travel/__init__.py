"""The travel part of the claim: legs, expenses and the allowances they give."""

from imagin.travel.views import bp

__all__ = ["bp"]
