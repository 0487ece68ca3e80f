"""Service fait: the chef de centre certifies the missions of his exam centres."""

from imagin.centre.admin import bp as admin_bp
from imagin.centre.views import bp

__all__ = ["admin_bp", "bp"]
