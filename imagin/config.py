"""Default configuration.

Overridden, in this order, by ``instance/config.py``, then by ``IMAGIN_*``
environment variables (``IMAGIN_URL_PREFIX=/imagin``) and ``DATABASE_URL``.
"""

# The SQLite file lives in the instance folder unless DATABASE_URL says otherwise;
# create_app() fills it in because only it knows where the instance folder is.
DATABASE_URL = None

# Served under this path when not empty, e.g. "/imagin" (the real address is …/imagin/intervenant).
URL_PREFIX = ""

# Set to True when the app is only reachable through HTTPS: Secure cookies and HSTS.
HTTPS = False

# How many reverse proxies sit in front of waitress (their X-Forwarded-* headers are trusted).
PROXY_COUNT = 0

# Files: 5 MiB per document. An upload may carry a whole claim's worth of files
# (several photos at once without JavaScript): its limit sits above the per-claim
# quota (MAX_BYTES_PER_CLAIM), so that the app, not waitress, decides about each
# file and says why in French. Every other request keeps MAX_CONTENT_LENGTH.
# waitress cuts only what is bigger than both (imagin.cli).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_REQUEST_BYTES = 41 * 1024 * 1024
MAX_CONTENT_LENGTH = 6 * 1024 * 1024
# Werkzeug's limits on a form's parts: how many, and the size of a text field or
# of a part's headers (a file's name…); past them the request gets its own message.
MAX_FORM_PARTS = 1000
MAX_FORM_MEMORY_SIZE = 500_000
UPLOAD_DIR = None

# Sign-in throttling, failed attempts only (imagin.auth.throttle): strict per account and
# address, looser per address (a whole DEC office can sit behind one IP), and per account
# from all addresses only at a rate no person types, so a stranger cannot lock its owner out.
LOGIN_ACCOUNT_ADDRESS_LIMIT = "5 per 15 minutes"
LOGIN_IP_LIMIT = "50 per 15 minutes"
LOGIN_ACCOUNT_LIMIT = "100 per 1 hour"
# Where the counters live: memory:// (one process) or redis://host:6379 (several).
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_STRATEGY = "moving-window"

# Argon2id at the OWASP minimum (19 MiB, 2 iterations, 1 lane).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST = 19 * 1024
ARGON2_PARALLELISM = 1

# Links to choose a password (first sign-in, forgotten password): valid a week, used once.
ACCOUNT_LINK_MAX_AGE = 7 * 24 * 3600
ACCOUNT_LINK_EMAIL_LIMIT = "3 per hour"
ACCOUNT_LINK_IP_LIMIT = "30 per hour"

MISSIONS_PER_PAGE = 25
CLAIMS_PER_PAGE = 50
DOSSIERS_PER_PAGE = 50

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PERMANENT_SESSION_LIFETIME = 8 * 3600
WTF_CSRF_TIME_LIMIT = 8 * 3600
WTF_CSRF_SSL_STRICT = True
# Form messages come from WTForms' own French catalogue (see imagin.forms).
WTF_I18N_ENABLED = False

# Compress what our slow-link users download; br first, gzip for older clients.
COMPRESS_ALGORITHM = ["br", "gzip"]
# Brotli quality 1 for pages (Flask-Compress's default is 4), measured by callgrind on the
# mission list (12.7 KB): 3,261 bytes for 0.39 M instructions, against 3,108 for 0.92 M at
# quality 2 and 2,837 for 1.75 M at 4: 150 bytes more (3 ms at 400 kbit/s) for 0.53 M
# instructions less, 7 % of the list. Static files are compressed once at brotli 11 and kept
# (imagin.headers): a first visit (sign-in page, static files, list) grows by 390 bytes,
# 30.9 KB of its 35 KB budget.
COMPRESS_BR_LEVEL = 1
COMPRESS_MIN_SIZE = 300
COMPRESS_MIMETYPES = [
    "text/html",
    "text/css",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
]
# Static files carry their content hash in the URL, so browsers may keep them for a year.
SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600

TIMEZONE = "Europe/Paris"

# Supporting documents: at most this many per claim, and this many stored bytes in all.
MAX_DOCUMENTS_PER_CLAIM = 20
MAX_BYTES_PER_CLAIM = 40 * 1024 * 1024

# E-mail. Without SMTP_HOST nothing leaves the machine: messages are written as
# .eml files in OUTBOX_DIR (default instance/outbox), which is what a developer wants.
SMTP_HOST = None
SMTP_PORT = 25
SMTP_USER = None
SMTP_PASSWORD = None
SMTP_FROM = "IMAG'IN <no-reply@imagin.invalid>"
SMTP_STARTTLS = False
SMTP_SSL = False
SMTP_TIMEOUT = 10
OUTBOX_DIR = None
# The site's public address: the base of every link in an e-mail (never the request's Host).
PUBLIC_URL = "http://127.0.0.1:8080"
# Requests are answered only for PUBLIC_URL's host and these other names (400 otherwise), so
# a forged Host header reaches nothing; e.g. IMAGIN_TRUSTED_HOSTS='["imagin.ac-x.fr", "10.0.0.5"]'
# (a comma-separated string works too). When PUBLIC_URL is on this machine (127.0.0.1 or
# localhost, as with `make run`), both loopback names are allowed.
TRUSTED_HOSTS: list[str] = []

# Convocation import: where an uploaded file waits between its preview and its
# application (default instance/imports).
IMPORT_DIR = None

# Sign-in of académie staff through the portal (README, "Sign-in through the académie
# portal"): "off", "headers" (the portal's reverse-proxy agent) or "oidc".
SSO_MODE = "off"
# Headers mode: identity headers are believed only from these addresses (CIDR list) of the
# machine directly connected to IMAG'IN, and, when a secret is set, only with it in the
# SSO_SHARED_SECRET_HEADER header. SSO_HEADERS renames headers, e.g. {"email": "mail"}
# (defaults: the ClearTrust names, imagin.auth.sso.HEADER_DEFAULTS).
SSO_TRUSTED_PROXIES: list[str] = []
SSO_SHARED_SECRET = None
SSO_SHARED_SECRET_HEADER = "X-Imagin-Portal-Secret"  # noqa: S105  (a header name)
SSO_HEADERS: dict[str, str] = {}
# Portal group -> DEC bureau code(s), e.g. {"IMAGIN-DEC2": "DEC2"}: the gestionnaires.
SSO_GROUP_BUREAUS: dict[str, str] = {}
# Portal groups of the chefs de centre, e.g. ["IMAGIN-CHEFS-CENTRE"]: each is chef de centre
# of the exam centres whose code is a UAI he heads (FrEduRneResp). Empty: admins attach them.
SSO_CHIEF_GROUPS: list[str] = []
# Where "se connecter avec le portail" sends a visitor who did not come through the portal,
# and where sign-out sends staff when the portal gave no FrEduUrlRetour.
SSO_PORTAL_URL = None
SSO_LOGOUT_URL = None
# OpenID Connect mode: the provider's .well-known/openid-configuration address, the client
# it registered for IMAG'IN, the scopes asked for and the claims' names (OIDC_CLAIMS renames,
# defaults in imagin.auth.sso.CLAIM_DEFAULTS); ID tokens are accepted OIDC_CLOCK_SKEW seconds
# around their dates.
OIDC_DISCOVERY_URL = None
OIDC_CLIENT_ID = None
OIDC_CLIENT_SECRET = None
OIDC_SCOPES = "openid email profile"
OIDC_CLAIMS: dict[str, str] = {}
OIDC_CLOCK_SKEW = 60
OIDC_TIMEOUT = 10
# The background mail sender: a thread inside `imagin serve` (the embedded setup).
# Set IMAGIN_SEND_MAIL_IN_SERVE=false when `imagin worker` runs (production).
SEND_MAIL_IN_SERVE = True
# How often a sender looks at the outbox for what other processes queued and for
# retries that came due (a commit in the sender's own process wakes it at once).
MAIL_POLL_SECONDS = 5

# Supporting documents: the local folder UPLOAD_DIR by default, or S3-compatible
# object storage with STORAGE_URL = "s3://bucket" (optionally "s3://bucket/prefix").
STORAGE_URL = None
S3_ENDPOINT_URL = None  # e.g. "https://s3.fr-par.scw.cloud"; None: AWS itself
S3_REGION = None
S3_ACCESS_KEY_ID = None  # None: boto3's usual sources (environment, instance role)
S3_SECRET_ACCESS_KEY = None
S3_ADDRESSING_STYLE = "path"  # most S3-compatible servers want path-style addresses
S3_CONNECT_TIMEOUT = 5
S3_READ_TIMEOUT = 30

# Behind a reverse proxy: `imagin serve` tells waitress to trust the X-Forwarded-*
# headers of this address only ("*" for any, when only the proxy can reach waitress),
# PROXY_COUNT hops deep. Used only when PROXY_COUNT > 0.
TRUSTED_PROXY = "127.0.0.1"
TRUSTED_PROXY_HEADERS = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"]

# PostgreSQL connection pool, per process: at least the waitress threads (+ the sender),
# so no request waits for a connection. Unused on SQLite.
DB_POOL_SIZE = 10
DB_MAX_OVERFLOW = 5
DB_POOL_TIMEOUT = 10
# Extra arguments for the database driver, e.g. {"prepare_threshold": null} for psycopg
# behind pgbouncer in transaction mode.
DB_CONNECT_ARGS = {}

# One JSON line per request on standard error (`imagin serve`), with its request id.
REQUEST_LOG = True
# Prometheus metrics at /metrics, only with "Authorization: Bearer <METRICS_TOKEN>"
# (no token set: no /metrics). `imagin serve --metrics-port` serves them on a
# separate port of its own instead.
METRICS_TOKEN = None
# "Where is my money": the usual number of months between a payment batch and the
# payslip that pays it, in this académie (IMAGIN_PAYMENT_DELAY_MONTHS=2).
PAYMENT_DELAY_MONTHS = 1

# Dossier financier. IBAN, BIC and NIR are encrypted with DATA_KEY (base64 of 32 bytes;
# several separated by commas: the first encrypts, all decrypt, see `imagin keys rotate`);
# without it, with a key generated into instance/data_keys (0600) on first use.
DATA_KEY = None
# A dossier is to renew when its owner has not been paid (nor renewed it) for this long.
DOSSIER_VALIDITY_MONTHS = 12
