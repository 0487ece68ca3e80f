"""The intervenant's profile: what the travel rules need and they may change."""

from imagin.profile.views import bp

__all__ = ["bp"]
