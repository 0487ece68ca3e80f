"""One instance of each Flask extension; create_app() calls their init_app()."""

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

compress = Compress()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Connectez-vous pour accéder à cette page."
login_manager.login_message_category = "info"
# Failed sign-ins are counted by hand (only failures count); no default limit.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
