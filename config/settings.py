"""Gatehouse settings: one module, driven by environment variables (see .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from config.database import database_from_url
from config.env import env_bool, env_int, env_list, env_str, env_url_prefix
from config.external_jwt import external_jwt_issuers_from_env
from config.observability import (
    log_format_from_env,
    logging_config,
    sentry_init,
    traces_sample_rate_from_env,
)
from config.refusals import StartupProblems
from core.file_types import EXTENSIONS
from core.storage import LOCAL, default_storage_config
from core.storage.options import (
    file_url_expire_seconds,
    storage_prefix,
    thumb_max_pixels,
    thumb_sizes,
)

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env", override=False)
# Each refused setting is noted here and all are reported together at the end.
_problems = StartupProblems()

VERSION = env_str("GATEHOUSE_VERSION", "0.1.0")
# /health answers from a readiness result at most this old (seconds, per process).
HEALTH_CACHE_SECONDS = env_int("HEALTH_CACHE_SECONDS", default=5)
IS_PRODUCTION = env_bool("IS_PRODUCTION", default=False)
# Off unless asked for: `make run` asks for it, on loopback only. Its technical
# pages show settings and the environment, so nothing public may ever see one.
DEBUG = not IS_PRODUCTION and env_bool("DEBUG", default=False)

# Development keys: fine on a laptop, refused in production (see the checks below).
DEVELOPMENT_SECRET_KEY = "django-insecure-gatehouse-development-only"  # noqa: S105
DEVELOPMENT_JWT_SECRET_KEY = "django-insecure-gatehouse-jwt-development-only"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
JWT_SECRET_KEY = env_str("JWT_SECRET_KEY") or DEVELOPMENT_JWT_SECRET_KEY

# Render names the service's public host; it is the default public URL there.
RENDER_EXTERNAL_HOSTNAME = env_str("RENDER_EXTERNAL_HOSTNAME")
# A local server's links follow the port it was started on (`PORT=9000 make run`).
# Only with DEBUG, which production never has: hosts such as Render set PORT for
# the server behind their proxy, which is no address to mail anyone.
_local_port = env_int("PORT", default=8000) if DEBUG else 8000
BASE_URL = env_str(
    "BASE_URL",
    f"https://{RENDER_EXTERNAL_HOSTNAME}"
    if RENDER_EXTERNAL_HOSTNAME
    else f"http://localhost:{_local_port}",
).rstrip("/")
_base_host = urlsplit(BASE_URL).hostname or "localhost"
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    default=[_base_host]
    if IS_PRODUCTION
    else [_base_host, "localhost", "127.0.0.1", "[::1]", "testserver"]
    + [".ngrok-free.app", ".ngrok-free.dev", ".ngrok.app", ".ngrok.io"],
)
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS",
    default=[BASE_URL]
    + (
        []
        if IS_PRODUCTION
        else ["https://*.ngrok-free.app", "https://*.ngrok-free.dev"]
    ),
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from here, no CDN
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "django_prometheus",
    "core",
    "accounts",
    "resources",
    "settings_app",
    "ops",
    "console",
]

MIDDLEWARE = [
    # GET /health from the cached readiness, before anything costlier (core/health.py).
    "core.health.HealthProbeMiddleware",
    # Observability: django-prometheus's pair wraps everything (Before first, After
    # last); the request id is bound before anything else can log.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.OptionalTrailingSlashMiddleware",
    "core.audit.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",  # after CORS: a 413 carries its headers
    # The Browser* ones pass /api/ requests by (core/browser_middleware.py).
    "core.browser_middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.browser_middleware.BrowserAuthenticationMiddleware",
    "core.browser_middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",  # admin and API docs pages
    "core.middleware.ApiExceptionMiddleware",  # JSON 500 under /api/, even with DEBUG
    "allauth.account.middleware.AccountMiddleware",
    # MFA_REQUIRED_FOR_ADMINS: an admin without a second factor enrols first.
    "accounts.web_mfa.AdminMfaEnrolmentMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # keep last
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
SITE_ID = 1

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

# --- Database -------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# "pgbouncer" when DATABASE_URL points at PgBouncer (or another pooler that may give
# each transaction a different server connection): see config/database.py.
DATABASE_POOLER = env_str("DATABASE_POOLER").lower()
DATABASES = {
    "default": database_from_url(
        DATABASE_URL,
        pooler=DATABASE_POOLER,
        # Not behind a pooler: prepared statements live on one server connection.
        prepared_statements=env_bool("DB_PREPARED_STATEMENTS", default=True),
        conn_max_age=env_int("DB_CONN_MAX_AGE", default=600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock when a transaction starts, so two
            # concurrent read-then-write transactions queue instead of failing.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # A database that does not answer costs a request seconds, not minutes: the
    # request answers 503 (core/errors.py). libpq's minimum is 2 s.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", default=2)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttle counters live here; shared across processes with Redis) -----
# While Redis is down the counters fall back to each process's memory
# (core/redis_cache.py) and /health reports the cache as unavailable.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "gatehouse"),
            # A server that stops answering costs a request seconds, not minutes.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Users, passwords, allauth --------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",  # Argon2id, OWASP's cost
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
SIGNUP_MODE = env_str("SIGNUP_MODE", "approval").lower()
FIRST_ADMIN_EMAIL = env_str("FIRST_ADMIN_EMAIL").lower()
# New access requests mailed to the admins one by one per clock hour; later ones
# that hour go into one digest at the hour's end.
ACCESS_REQUEST_EMAILS_PER_HOUR = env_int("ACCESS_REQUEST_EMAILS_PER_HOUR", default=5)

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
# Mail scanners open links: a confirmation link's page only shows a button that POSTs.
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Gatehouse] "
# A reset for an unknown address sends nothing (the API answers 202 either way).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Sign-in by emailed code (POST /api/v1/auth/code/...): allauth's code format and
# attempt limit, its lifetime in seconds.
LOGIN_CODE_TIMEOUT = env_int("LOGIN_CODE_TIMEOUT", default=15 * 60)
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = LOGIN_CODE_TIMEOUT
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlsplit(BASE_URL).scheme or "http"
# Two-factor sign-in (POST /api/v1/auth/mfa/...), on allauth.mfa.
# Passkeys (WebAuthn) are added and used on allauth's web pages only: a second
# factor at the admin's login, never a sign-in alone (MFA_PASSKEY_LOGIN_ENABLED off).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Gatehouse")
# The admin API answers an admin without TOTP 403 mfa_enrollment_required, and
# /admin/ sends them to enrol (accounts/web_mfa.py).
MFA_REQUIRED_FOR_ADMINS = env_bool("MFA_REQUIRED_FOR_ADMINS", default=IS_PRODUCTION)
# The web pages' code form (the admin's login): on the API's mfa_verify throttle.
MFA_FORMS = {
    "authenticate": "accounts.web_mfa.SecondFactorForm",
    "authenticate_webauthn": "accounts.web_mfa.SecondFactorPasskeyForm",
    "add_webauthn": "accounts.web_mfa.AddPasskeyForm",
    "reauthenticate_webauthn": "accounts.web_mfa.ReauthenticatePasskeyForm",
}
# Creating a public share link needs resources.share_resource (admins hold it).
SHARE_REQUIRES_PERMISSION = env_bool("SHARE_REQUIRES_PERMISSION", default=False)
# URL names, not paths, so they carry URL_PREFIX when one is set.
LOGIN_REDIRECT_URL = "admin:index"
LOGIN_URL = "account_login"
# Links in emails: a frontend may take them over with {uid}/{token} or {key}.
PASSWORD_RESET_URL = env_str("PASSWORD_RESET_URL")
EMAIL_CONFIRM_URL = env_str("EMAIL_CONFIRM_URL")
INVITATION_URL = env_str("INVITATION_URL")

GOOGLE_CLIENT_IDS = env_list("GOOGLE_CLIENT_ID") or env_list("OAUTH_CLIENT_ID")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET") or env_str("OAUTH_CLIENT_SECRET")
GOOGLE_CERTS_URL = env_str(
    "GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v3/certs"
)
# Identity providers whose own bearer tokens the API accepts (docs/frontend.md:
# "Tokens from an external identity provider"); an empty list turns the feature off.
EXTERNAL_JWT_ISSUERS: list[dict] = _problems.gathered(
    lambda: external_jwt_issuers_from_env(is_production=IS_PRODUCTION), fallback=[]
)
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": (
            [
                {
                    "client_id": GOOGLE_CLIENT_IDS[0],
                    "secret": GOOGLE_CLIENT_SECRET,
                }
            ]
            if GOOGLE_CLIENT_IDS and GOOGLE_CLIENT_SECRET
            else []
        ),
        "SCOPE": ["openid", "email", "profile"],
    }
}

# --- JWT sessions ---------------------------------------------------------------
JWT_REFRESH_REUSE_GRACE_SECONDS = env_int("JWT_REFRESH_REUSE_GRACE_SECONDS", default=30)
# Sign-in and refresh answers put the refresh token in an HttpOnly cookie instead of
# the body (accounts/refresh_cookie.py; docs/frontend.md "Refresh token in a cookie").
JWT_REFRESH_COOKIE = env_bool("JWT_REFRESH_COOKIE", default=False)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env_int("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", default=60)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        days=env_int("JWT_REFRESH_TOKEN_EXPIRE_DAYS", default=30)
    ),
    "ALGORITHM": env_str("JWT_ALGORITHM", "HS256"),
    "SIGNING_KEY": JWT_SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# --- REST framework, OpenAPI, CORS ----------------------------------------------
NUM_PROXIES = env_int("NUM_PROXIES", default=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionJWTAuthentication",
        "accounts.authentication.ExternalJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsApproved"],
    # DRF's JSONRenderer output, encoded by orjson (core/renderers.py).
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.FastJSONRenderer"],
    # The common Accept headers answered without parsing them (core/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.FastContentNegotiation",
    # JSON only: the two upload endpoints take multipart, and say so themselves, so
    # no other endpoint parses a multipart body (which the JSON body cap lets through).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "core.filters.FilterFieldsBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": None,
}
# Sign-in throttles: "<count>/<second|minute|hour|day>", per client IP and per account.
THROTTLE_RATES = {
    "signin_ip": env_str("THROTTLE_SIGNIN_IP", "20/minute"),
    "signin_account": env_str("THROTTLE_SIGNIN_ACCOUNT", "10/minute"),
    "password_reset_address": env_str("THROTTLE_PASSWORD_RESET_ADDRESS", "3/hour"),
    "email_resend_address": env_str("THROTTLE_EMAIL_RESEND_ADDRESS", "3/hour"),
    "login_code_address": env_str("THROTTLE_LOGIN_CODE_ADDRESS", "5/hour"),
    "mfa_verify": env_str("THROTTLE_MFA_VERIFY", "5/minute"),
    "mfa_totp_confirm": env_str("THROTTLE_MFA_TOTP_CONFIRM", "5/minute"),
    "upload_url_user": env_str("THROTTLE_UPLOAD_URL", "30/hour"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": "Approval-gated backend: accounts, resources, settings.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "UserStatusEnum": "accounts.models.User.Status",
        "AccessRequestStatusEnum": "accounts.models.AccessRequest.Status",
        "ResourceStatusEnum": "resources.models.Resource.Status",
    },
}
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ORIGINS",
    default=[] if IS_PRODUCTION else ["http://localhost:3000", "http://localhost:5173"],
)
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "origin",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
    "x-request-id",
    "ngrok-skip-browser-warning",
)
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "X-Request-ID"]
# Browsers send the refresh cookie cross-origin only to a listed origin that allows
# credentials; without the cookie no origin needs them.
CORS_ALLOW_CREDENTIALS = JWT_REFRESH_COOKIE
if CORS_ALLOW_CREDENTIALS and "*" in CORS_ALLOWED_ORIGINS:
    _problems.add(
        "CORS_ORIGINS must list each frontend's origin when JWT_REFRESH_COOKIE is on, "
        "not '*'"
    )

# --- Static files and uploads ---------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "assets/"  # relative, like STATIC_URL: Django prepends the script prefix
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "assets")
STORAGES = {
    "default": _problems.gathered(
        default_storage_config, fallback={"BACKEND": LOCAL.path}
    ),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Outside production whitenoise serves static files straight from the apps, so the
# admin keeps its CSS with DEBUG off and without collectstatic.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

USE_CLOUD_STORAGE = STORAGES["default"]["BACKEND"] != LOCAL.path
# Every stored key starts with this folder, so deployments can share a bucket.
STORAGE_PREFIX = _problems.gathered(
    lambda: storage_prefix(base_url=BASE_URL), fallback="gatehouse"
)
FILE_URL_EXPIRE_SECONDS = _problems.gathered(file_url_expire_seconds, fallback=900)
MAX_UPLOAD_SIZE = env_int("MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)
# Image variants (`?thumb=` on a file's URL, core/image_variants.py): only these
# sizes are made. "WxH" fits inside the box keeping the aspect, 0 meaning any;
# "WxHc" crops to exactly WxH.
THUMB_SIZES: list[str] = _problems.gathered(thumb_sizes, fallback=[])
# Larger images are refused a variant (a decompression bomb), before they are decoded.
THUMB_MAX_PIXELS = _problems.gathered(thumb_max_pixels, fallback=50_000_000)
ALLOWED_UPLOAD_TYPES = env_list("ALLOWED_UPLOAD_TYPES", default=list(EXTENSIONS))
FILE_UPLOAD_HANDLERS = ["core.uploads.LimitedUploadHandler"]
# Upload by URL (core/url_fetch.py): the ports a URL may name, and its timeouts in
# seconds (connecting; the whole fetch, redirects and a slow body included).
_upload_url_ports = env_list("UPLOAD_URL_ALLOWED_PORTS", default=["80", "443"])
if not all(port.isdigit() and 0 < int(port) < 65536 for port in _upload_url_ports):
    _problems.add("UPLOAD_URL_ALLOWED_PORTS must list port numbers, such as 80,443")
    _upload_url_ports = ["80", "443"]
UPLOAD_URL_ALLOWED_PORTS = [int(port) for port in _upload_url_ports]
UPLOAD_URL_CONNECT_TIMEOUT = env_int("UPLOAD_URL_CONNECT_TIMEOUT", default=5)
UPLOAD_URL_TIMEOUT = env_int("UPLOAD_URL_TIMEOUT", default=30)
# Any other body under /api/ (JSON, forms) declaring more than this is refused
# unread (core.middleware.RequestBodyLimitMiddleware): DRF's parsers read the
# stream whole, and DATA_UPLOAD_MAX_MEMORY_SIZE does not guard them.
MAX_JSON_BODY = env_int("MAX_JSON_BODY", default=1024 * 1024)

# --- Background tasks (django-tasks, the API Django 6 adopted) --------------------
# "immediate" runs a task inside the request that enqueued it (tests, local runs);
# "database" queues it for `python manage.py task_worker` (production).
TASKS_BACKEND = env_str("TASKS_BACKEND", "database" if IS_PRODUCTION else "immediate")
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[TASKS_BACKEND]
    }
}
TASK_MAX_ATTEMPTS = env_int("TASK_MAX_ATTEMPTS", default=5)
TASK_RETRY_BACKOFF_SECONDS = env_int("TASK_RETRY_BACKOFF_SECONDS", default=30)
# Each `manage.py task_worker` says it is alive this often; a task still RUNNING
# under a worker not heard from for TASK_WORKER_STALE_SECONDS (killed, or its
# machine gone) is queued again, and another worker runs it.
TASK_WORKER_HEARTBEAT_SECONDS = env_int("TASK_WORKER_HEARTBEAT_SECONDS", default=10)
TASK_WORKER_STALE_SECONDS = env_int("TASK_WORKER_STALE_SECONDS", default=60)

# --- Email ----------------------------------------------------------------------
_EMAIL_TO_LOG = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
# Locally emails are printed in the terminal; in production they go out by SMTP,
# since they carry sign-in codes and reset links, which must never reach a log.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
if IS_PRODUCTION and EMAIL_BACKEND in _EMAIL_TO_LOG:
    _problems.add(
        f"EMAIL_BACKEND={EMAIL_BACKEND} would write every email, sign-in codes and "
        "password reset links included, to the log or the disk; send them by SMTP "
        "(EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD)"
    )
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "sent_emails"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Gatehouse <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers on a private network speak plain HTTP; /metrics has its token.
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^api/v1/health/?$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Observability: logs, request ids, Sentry, /metrics (config/observability.py) --
# JSON lines on stdout in production (or LOG_FORMAT=json), plain text locally; every
# record carries the request_id that X-Request-ID answers.
LOG_FORMAT = log_format_from_env(is_production=IS_PRODUCTION)
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    sentry_init(
        dsn=SENTRY_DSN,
        environment=env_str(
            "SENTRY_ENVIRONMENT", "production" if IS_PRODUCTION else "development"
        ),
        release=VERSION,
        traces_sample_rate=traces_sample_rate_from_env(),
    )
# Bearer token for /metrics; without it /metrics is open locally, closed in production.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Behind a path-prefix proxy or an ngrok tunnel (docs/operators.md "Local tunnel")
# URL_PREFIX=/gatehouse: a proxy routes /gatehouse/... here with the prefix stripped
# (deploy/proxy/Caddyfile), and every URL Django builds carries the prefix again.
URL_PREFIX = env_url_prefix("URL_PREFIX")
if URL_PREFIX:
    FORCE_SCRIPT_NAME = URL_PREFIX
    # Absolute here: Django caches a relative STATIC_URL or MEDIA_URL with the script
    # prefix current at first use, and under a WSGI server that is still "/".
    STATIC_URL = f"{URL_PREFIX}/static/"
    MEDIA_URL = f"{URL_PREFIX}/assets/"
    # Projects behind one tunnel share its host name: keep their cookies apart.
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = LANGUAGE_COOKIE_PATH = f"{URL_PREFIX}/"
    SPECTACULAR_SETTINGS["SERVERS"] = [{"url": URL_PREFIX}]
# Set by `manage.py tunnel` for the development server it starts.
TUNNEL_HOST = env_str("TUNNEL_HOST")
if TUNNEL_HOST:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, TUNNEL_HOST]
    CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, f"https://{TUNNEL_HOST}"]
if TUNNEL_HOST or URL_PREFIX:
    # ngrok, and the shipped proxy behind it, say in X-Forwarded-Proto that the
    # visitor used https, so absolute URLs and CSRF origin checks use https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Refuse to start with an unsafe or broken configuration, naming every problem -
if IS_PRODUCTION:
    from config.production_checks import unsafe_production_settings

    for _problem in unsafe_production_settings(
        secret_key=SECRET_KEY,
        jwt_secret_key=JWT_SECRET_KEY,
        database_engine=DATABASES["default"]["ENGINE"],
        allow_sqlite=env_bool("ALLOW_SQLITE_IN_PRODUCTION", default=False),
        # Asked for, even when the provider's settings were refused above: that
        # refusal is the problem to name, not local media.
        uses_cloud_storage=env_bool("USE_CLOUD_STORAGE", default=False),
        allow_local_media=env_bool("ALLOW_LOCAL_MEDIA_IN_PRODUCTION", default=False),
    ):
        _problems.add(_problem)
if SIGNUP_MODE not in {"approval", "open", "closed"}:
    _problems.add(f"SIGNUP_MODE must be approval, open or closed, not {SIGNUP_MODE!r}")
_problems.refuse_if_any(is_production=IS_PRODUCTION)
