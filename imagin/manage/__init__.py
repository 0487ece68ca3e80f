"""The DEC back office under /gestion: review, send back, validate, export, import."""

from imagin.manage import import_views  # noqa: F401  (registers the /gestion/import routes)
from imagin.manage.views import bp

__all__ = ["bp"]
