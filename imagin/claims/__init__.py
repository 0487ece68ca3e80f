"""The claim (état de frais): the pay tab, the summary and validation."""

from imagin.claims.views import bp

__all__ = ["bp"]
