"""Service fait: the chef de centre certifies the missions of his exam centres."""

from imagin.centre.views import bp

__all__ = ["bp"]
