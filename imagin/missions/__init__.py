"""The intervenant's missions: the list, the mission page and its tabs."""

from imagin.missions.views import bp

__all__ = ["bp"]
