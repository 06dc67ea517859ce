"""Settings from the environment; a fresh clone runs on SQLite under var/.

Environment: DATABASE_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, LEDGER_KEK
(base64 of 32 bytes: encrypts private keys at rest), LEDGER_ORIGIN (the log's
name in checkpoints). Without DEBUG, SECRET_KEY and LEDGER_KEK must be set;
in development they are generated once into var/ (git-ignored).
"""

import base64
import binascii
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


DEBUG = env_bool("DEBUG", True)


def dev_secret(name: str, make) -> str:
    """The env value, else (development only) one generated once into var/."""
    if os.environ.get(name):
        return os.environ[name]
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    path = VAR_DIR / name.lower()
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = dev_secret("SECRET_KEY", lambda: secrets.token_urlsafe(50))
try:
    LEDGER_KEK = base64.b64decode(
        dev_secret("LEDGER_KEK", lambda: base64.b64encode(secrets.token_bytes(32)).decode()),
        validate=True,
    )
except binascii.Error:
    LEDGER_KEK = b""
if len(LEDGER_KEK) != 32:
    raise ImproperlyConfigured("LEDGER_KEK must be base64 of exactly 32 bytes")
LEDGER_ORIGIN = os.environ.get("LEDGER_ORIGIN", "localhost/drug-traceability/ledger")
# Who may read a ledger entry's bytes: f(user, index) -> bool.
LEDGER_ENTRY_ACCESS = "traceability.selectors.entry_visible_to"

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us: no CDN
    "ledger",
    "traceability",
    "manufacturers",
    "pharmacies",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "traceability.middleware.ContentSecurityPolicyMiddleware",
    "traceability.middleware.NulInUrlMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "traceability.urls"
WSGI_APPLICATION = "traceability.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock at BEGIN, so two appends queue up
    # instead of one failing with "database is locked" halfway through.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # Tests use a file too: the in-memory shared cache locks whole tables,
    # which is not how the real database behaves under concurrent appends.
    # One file per process, so two test runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Only prepared_sql.prepared_cursor() binds server-side, so only its queries
    # are prepared (Django's own cursors bind client-side and never are). Behind
    # a transaction-pooling PgBouncer older than 1.21, set this to None.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0

# Explicit, because login rate limiting counts failures here. LocMemCache is
# per process: with several worker processes each counts on its own, so put
# a shared cache (Redis, Memcached, database) here when running more than one.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "traceability",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate header makes a missing token a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.authentication.IsOrganisationMember"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_PARSER_CLASSES": [
        "traceability.json_parser.JsonParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Drug traceability API",
    "DESCRIPTION": (
        "Custody of drug batches and serialized packs, signed into an append-only, "
        "Merkle-hashed ledger.\n\n"
        "Authenticate with an API token from the web UI (Tokens): "
        "`Authorization: Bearer <token>`. Only members of an organisation may use the API.\n\n"
        'Errors are JSON: `{"error": "<message>", "code": "<code>"}`, with `"fields"` '
        "holding per-field messages when the input was invalid."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The bearer security scheme comes from accounts.authentication.BearerTokenScheme,
    # so each operation lists exactly the authentication it accepts.
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Request bodies: big enough for a batch of thousands of statements, no more.
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# 'wasm-unsafe-eval' lets the camera scanner compile its WebAssembly (zxing-wasm, served
# from our static files); it allows no JavaScript eval.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; "
    "object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

# Recall notices (issue 6): printed to the console unless a backend is configured.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "recalls@traceability.invalid")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
