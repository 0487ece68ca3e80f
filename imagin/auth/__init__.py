"""Sign-in, sign-out and the signed-in user."""

from imagin.auth.views import bp

__all__ = ["bp"]
