"""Talkgate settings: one module, driven by the environment.

With nothing set, everything runs on one machine: SQLite, kombu's ``filesystem://`` broker, a file-based
cache and local file storage under ``TALKGATE_DATA_DIR`` (default ``./var``). ``DATABASE_URL`` switches to
PostgreSQL, ``REDIS_URL`` to Redis for the cache (and the broker unless ``CELERY_BROKER_URL`` says otherwise).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_int_list, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
TALKGATE_VERSION = "0.1.0"

TALKGATE_ENV = env_str("TALKGATE_ENV", "development", choices=["development", "production"])
IS_PRODUCTION = TALKGATE_ENV == "production"

DATA_DIR = Path(env_str("TALKGATE_DATA_DIR", str(BASE_DIR / "var")) or "").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the env; in development a random one is made once and kept under DATA_DIR."""
    value = env_str("DJANGO_SECRET_KEY")
    if value:
        if len(value) < 32:
            raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 32 characters.")
        return value
    if IS_PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required in production.")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "webhooks",
    "generation",
    "moderation",
    "provenance",
    "verifier",
    "console",
    "demo",
]

MIDDLEWARE = [
    # Outermost, so a request's time includes its audit entry and every refusal below is counted.
    "core.metrics.RequestMetricsMiddleware",
    # Next, so that every request (even one refused by a later middleware) gets an id and an audit entry.
    "accounts.middleware.RequestAuditMiddleware",
    "accounts.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database ---------------------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", None, schemes=["postgres", "postgresql", "sqlite"])
if DATABASE_URL:
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from exc
    if _db["ENGINE"] == "django.db.backends.postgresql" and not _db.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL must name a database (postgres://host:5432/NAME).")
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "talkgate.sqlite3")}
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialise writers up front, so the web server and the worker never deadlock on
    # a lock upgrade; the file-backed test database lets a real worker process see the test's rows.
    _db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    _db["TEST"] = {"NAME": str(DATA_DIR / "test-talkgate.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"

AUTH_USER_MODEL = "accounts.User"
# Usernames match in their NFKC, case-folded form: look-alikes (fullwidth letters, "Demo") are one account.
AUTHENTICATION_BACKENDS = ["accounts.logins.NormalisedUsernameBackend"]
# Password sign-in (console and admin): after this many failures an account is locked for the window, from every
# address; an address is locked after its own (higher) count over all usernames.
TALKGATE_LOGIN_MAX_FAILURES = env_int("TALKGATE_LOGIN_MAX_FAILURES", 5, minimum=1)
TALKGATE_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("TALKGATE_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, minimum=1)
TALKGATE_LOGIN_LOCK_SECONDS = env_int("TALKGATE_LOGIN_LOCK_SECONDS", 15 * 60, minimum=1)
# The Django admin (raw data browsing) is served only where this is true; production leaves it off by default.
TALKGATE_ADMIN_ENABLED = env_bool("TALKGATE_ADMIN_ENABLED", not IS_PRODUCTION)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Cache and broker ---------------------------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", None, schemes=["redis", "rediss", "unix"])
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # A file cache is shared by every process on the machine (web workers and Celery), unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX", "talkgate")

BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    REDIS_URL or "filesystem://",
    schemes=["redis", "rediss", "filesystem", "amqp", "memory"],
)
if CELERY_BROKER_URL == "filesystem://":
    for _sub in ("out", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Fanout exchanges (worker remote control) would otherwise land in ./control of the cwd.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # An unacked task (its worker died) is handed out again after this long: above the longest task.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3 * 3600, minimum=1),
        "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10, minimum=1),
        "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10, minimum=1),
        "socket_connect_timeout": 5,
    }
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 30 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 35 * 60, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT.")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Storage --------------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("TALKGATE_MEDIA_ROOT", str(DATA_DIR / "media")) or "")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGE_BACKEND = env_str("TALKGATE_STORAGE", "local", choices=["local", "s3"])
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if STORAGE_BACKEND == "s3":
    # S3 or any S3-compatible store (MinIO, Ceph, R2) through django-storages (`pip install -e .[s3]`).
    _bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not _bucket:
        raise ImproperlyConfigured("TALKGATE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": env_url("AWS_S3_ENDPOINT_URL", None, schemes=["https", "http"]),
            "region_name": env_str("AWS_S3_REGION_NAME"),
            "access_key": env_str("AWS_ACCESS_KEY_ID"),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY"),
            "default_acl": None,
            "file_overwrite": True,
            # Downloads are presigned URLs that expire like the app's own signed links.
            "querystring_auth": True,
            "signature_version": "s3v4",
        },
    }
# Serve the bundled Swagger UI assets straight from the installed apps, so `runserver`/gunicorn need no
# collectstatic step on a fresh machine.
WHITENOISE_USE_FINDERS = True

# --- Talkgate ----------------------------------------------------------------------------------------------
# Requests larger than this are refused with 413 before anything reads the body.
TALKGATE_MAX_REQUEST_BYTES = env_int("TALKGATE_MAX_REQUEST_BYTES", 64 * 1024 * 1024, minimum=1024)
# JSON bodies have a much lower ceiling: nothing legitimate in the API needs more.
TALKGATE_MAX_JSON_BYTES = env_int("TALKGATE_MAX_JSON_BYTES", 1024 * 1024, minimum=1024)
# Per-partner default request rate for new partners (requests per minute); reviewers change it per partner.
TALKGATE_DEFAULT_PARTNER_RATE_PER_MINUTE = env_int("TALKGATE_DEFAULT_PARTNER_RATE_PER_MINUTE", 120, minimum=1)
TALKGATE_DEFAULT_MAX_CONCURRENT_JOBS = env_int("TALKGATE_DEFAULT_MAX_CONCURRENT_JOBS", 4, minimum=1)
TALKGATE_DEFAULT_MONTHLY_VIDEO_SECONDS = env_int("TALKGATE_DEFAULT_MONTHLY_VIDEO_SECONDS", 3600, minimum=0)
TALKGATE_DEFAULT_MAX_AUDIO_SECONDS = env_int("TALKGATE_DEFAULT_MAX_AUDIO_SECONDS", 600, minimum=1)
TALKGATE_MAX_PHOTO_BYTES = env_int("TALKGATE_MAX_PHOTO_BYTES", 20 * 1024 * 1024, minimum=1024)
TALKGATE_MAX_PHOTO_PIXELS = env_int("TALKGATE_MAX_PHOTO_PIXELS", 40_000_000, minimum=16_384)
TALKGATE_MAX_AUDIO_BYTES = env_int("TALKGATE_MAX_AUDIO_BYTES", 40 * 1024 * 1024, minimum=1024)
TALKGATE_MIN_AUDIO_SECONDS = 0.5
# Signed download links for outputs expire after this many seconds.
TALKGATE_VIDEO_URL_TTL_S = env_int("TALKGATE_VIDEO_URL_TTL_S", 300, minimum=10, maximum=86_400)
# Inputs (photos, audio) of finished jobs are deleted after this many days; outputs stay for verification.
TALKGATE_INPUT_RETENTION_DAYS = env_int("TALKGATE_INPUT_RETENTION_DAYS", 30, minimum=0)
# An Idempotency-Key record (and the key it holds, even one stuck "in progress") lives this long; beat sweeps it.
TALKGATE_IDEMPOTENCY_TTL_HOURS = env_int("TALKGATE_IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
# A job that sits in a working state longer than this is re-enqueued by the sweep, at most N times.
TALKGATE_STUCK_AFTER_S = env_int("TALKGATE_STUCK_AFTER_S", 45 * 60, minimum=10)
TALKGATE_MAX_JOB_ATTEMPTS = env_int("TALKGATE_MAX_JOB_ATTEMPTS", 3, minimum=1)
# Webhooks: the SSRF guard refuses private/loopback targets and plain http unless these allow them (tests do).
TALKGATE_WEBHOOK_ALLOW_PRIVATE = env_bool("TALKGATE_WEBHOOK_ALLOW_PRIVATE", False)
TALKGATE_WEBHOOK_ALLOW_HTTP = env_bool("TALKGATE_WEBHOOK_ALLOW_HTTP", False)
# Seconds to wait before each retry of a failed delivery; after the last one the delivery is failed.
TALKGATE_WEBHOOK_BACKOFF_S = env_int_list("TALKGATE_WEBHOOK_BACKOFF_S", [10, 30, 120, 600, 1800, 3600, 10800])
TALKGATE_WEBHOOK_TIMEOUT_S = env_int("TALKGATE_WEBHOOK_TIMEOUT_S", 10, minimum=1, maximum=60)
# Face matching (dlib 128-d embeddings, euclidean): at or below this distance two faces are the same person.
TALKGATE_FACE_MATCH_THRESHOLD = env_float("TALKGATE_FACE_MATCH_THRESHOLD", 0.55, minimum=0.1, maximum=1.5)
# A protected person counts as matched at or below this distance (stricter: a false block is cheap to review).
TALKGATE_PROTECTED_MATCH_THRESHOLD = env_float("TALKGATE_PROTECTED_MATCH_THRESHOLD", 0.6, minimum=0.1, maximum=1.5)
TALKGATE_CHALLENGE_TTL_S = env_int("TALKGATE_CHALLENGE_TTL_S", 600, minimum=60)
# Consent review policy: a consent may become verified without a reviewer only when this AND the partner's own
# flag (set by reviewers) are on, and only from a live capture; uploaded recordings always go to a reviewer.
TALKGATE_CONSENT_AUTO_VERIFY = env_bool("TALKGATE_CONSENT_AUTO_VERIFY", False)
TALKGATE_CHALLENGES_PER_HOUR = env_int("TALKGATE_CHALLENGES_PER_HOUR", 5, minimum=1)
TALKGATE_MAX_REJECTED_RECORDINGS = env_int("TALKGATE_MAX_REJECTED_RECORDINGS", 3, minimum=1)
TALKGATE_MAX_RECORDING_BYTES = env_int("TALKGATE_MAX_RECORDING_BYTES", 60 * 1024 * 1024, minimum=1024)
TALKGATE_MAX_RECORDING_SECONDS = env_int("TALKGATE_MAX_RECORDING_SECONDS", 60, minimum=5)
TALKGATE_MAX_REFERENCE_PHOTOS = env_int("TALKGATE_MAX_REFERENCE_PHOTOS", 5, minimum=1)
TALKGATE_PUBLIC_BASE_URL = env_str("TALKGATE_PUBLIC_BASE_URL", "http://127.0.0.1:8000") or ""
# Live capture (the hosted page, /capture/<token>): a link is single-use and lives this long; chunks are bounded in
# size and count (the whole recording by TALKGATE_MAX_RECORDING_BYTES / _SECONDS); a dropped connection may resume
# within TALKGATE_CAPTURE_RESUME_S, else the recording restarts (at most TALKGATE_CAPTURE_MAX_RESTARTS times).
TALKGATE_CAPTURE_LINK_TTL_S = env_int("TALKGATE_CAPTURE_LINK_TTL_S", 900, minimum=60, maximum=86400)
TALKGATE_CAPTURE_MAX_CHUNK_BYTES = env_int("TALKGATE_CAPTURE_MAX_CHUNK_BYTES", 4 * 1024 * 1024, minimum=16 * 1024)
TALKGATE_CAPTURE_MAX_CHUNKS = env_int("TALKGATE_CAPTURE_MAX_CHUNKS", 90, minimum=10, maximum=1000)
TALKGATE_CAPTURE_RESUME_S = env_float("TALKGATE_CAPTURE_RESUME_S", 8.0, minimum=1.0, maximum=60.0)
TALKGATE_CAPTURE_MAX_RESTARTS = env_int("TALKGATE_CAPTURE_MAX_RESTARTS", 2, minimum=0, maximum=10)
# The prompts: revealed after this much video arrived, one at a time, each with its own window (seconds).
TALKGATE_CAPTURE_LEAD_S = env_float("TALKGATE_CAPTURE_LEAD_S", 3.0, minimum=1.0, maximum=10.0)
TALKGATE_CAPTURE_STATEMENT_WINDOW_S = env_float("TALKGATE_CAPTURE_STATEMENT_WINDOW_S", 10.0, minimum=4.0, maximum=30.0)
TALKGATE_CAPTURE_MOVE_WINDOW_S = env_float("TALKGATE_CAPTURE_MOVE_WINDOW_S", 4.0, minimum=2.0, maximum=15.0)
# Movement prompts are answered by a head rotation of at least this many degrees (yaw for left/right, pitch up).
TALKGATE_CAPTURE_MIN_YAW_DEG = env_float("TALKGATE_CAPTURE_MIN_YAW_DEG", 20.0, minimum=5.0, maximum=60.0)
TALKGATE_CAPTURE_MIN_PITCH_DEG = env_float("TALKGATE_CAPTURE_MIN_PITCH_DEG", 10.0, minimum=3.0, maximum=45.0)
# Media time may trail the chunks' arrival by at most this much more than the stream's best chunk did.
TALKGATE_CAPTURE_MAX_LAG_S = env_float("TALKGATE_CAPTURE_MAX_LAG_S", 8.0, minimum=1.0, maximum=60.0)
TALKGATE_CAPTURE_PAGE_RATE = env_str("TALKGATE_CAPTURE_PAGE_RATE", "30/min")
# C2PA signing. In development a chain is made on first use under TALKGATE_C2PA_DIR
# (`manage.py bootstrap_signing_keys` does it explicitly); production points at its own chain and key or
# signs through a callback (a KMS hook: "package.module:function" taking bytes, returning a raw r||s signature).
TALKGATE_C2PA_DIR = Path(env_str("TALKGATE_C2PA_DIR", str(DATA_DIR / "c2pa")) or "")
TALKGATE_C2PA_CHAIN_FILE = Path(env_str("TALKGATE_C2PA_CHAIN_FILE", str(TALKGATE_C2PA_DIR / "chain.pem")) or "")
TALKGATE_C2PA_KEY_FILE = Path(env_str("TALKGATE_C2PA_KEY_FILE", str(TALKGATE_C2PA_DIR / "leaf.key")) or "")
TALKGATE_C2PA_SIGNER_CALLBACK = env_str("TALKGATE_C2PA_SIGNER_CALLBACK")
# Roots trusted when verifying: the current one plus older ones kept after a rotation (PEM files).
TALKGATE_C2PA_TRUST_ANCHORS = env_list("TALKGATE_C2PA_TRUST_ANCHORS", [str(TALKGATE_C2PA_DIR / "root.pem")])
TALKGATE_C2PA_TSA_URL = env_url("TALKGATE_C2PA_TSA_URL", None, schemes=["http", "https"])
# RMS change of every output frame's R, G and B values (8-bit levels) at 512x512 and larger; smaller frames get
# up to 1.65x more. 3.05 gives PSNR ~38.5 dB; stronger survives harsher copies (table in docs/watermark.md).
# The engine the gpu workers render with, as "module:factory" (see gpu_worker/engines.py).
TALKGATE_ENGINE = env_str("TALKGATE_ENGINE", "gpu_worker.engine:get_engine") or "gpu_worker.engine:get_engine"
TALKGATE_WATERMARK_STRENGTH = env_float("TALKGATE_WATERMARK_STRENGTH", 3.05, minimum=1.5, maximum=8.0)
TALKGATE_MAX_VERIFY_BYTES = env_int("TALKGATE_MAX_VERIFY_BYTES", 60 * 1024 * 1024, minimum=1024)
TALKGATE_VERIFY_RATE = env_str("TALKGATE_VERIFY_RATE", "20/min")
# Public verification's cost bounds: pixels per frame read (images: also the photo cap), frames and seconds
# decoded, seconds of work per file (then the answer is partial: "inconclusive"), how long the web process waits
# for the cpu worker before answering 202 with a result URL, and how many verifications may be queued at once.
TALKGATE_MAX_VERIFY_PIXELS = env_int("TALKGATE_MAX_VERIFY_PIXELS", 2048 * 2048, minimum=64 * 64)
TALKGATE_MAX_VERIFY_FRAMES = env_int("TALKGATE_MAX_VERIFY_FRAMES", 3600, minimum=1)
TALKGATE_MAX_VERIFY_SECONDS = env_int("TALKGATE_MAX_VERIFY_SECONDS", 60, minimum=1)
TALKGATE_VERIFY_TIME_BUDGET_S = env_int("TALKGATE_VERIFY_TIME_BUDGET_S", 30, minimum=1, maximum=600)
TALKGATE_VERIFY_WAIT_S = env_float("TALKGATE_VERIFY_WAIT_S", 2.0, minimum=0.0, maximum=30.0)
TALKGATE_VERIFY_MAX_PENDING = env_int("TALKGATE_VERIFY_MAX_PENDING", 8, minimum=1)
TALKGATE_ANON_RATE = env_str("TALKGATE_ANON_RATE", "30/min")
TALKGATE_REVIEWER_RATE = env_str("TALKGATE_REVIEWER_RATE", "600/min")
# The subject's revocation page, per address (its link carries a secret: no guessing at speed).
TALKGATE_REVOKE_PAGE_RATE = env_str("TALKGATE_REVOKE_PAGE_RATE", "20/min")
# How many reverse proxies in front of the app append to X-Forwarded-For (0: trust only REMOTE_ADDR).
TALKGATE_TRUSTED_PROXY_COUNT = env_int("TALKGATE_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# last_used_at is written at most this often per key, so a busy key does not write on every request.
TALKGATE_KEY_LAST_USED_RESOLUTION_S = env_int("TALKGATE_KEY_LAST_USED_RESOLUTION_S", 60, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.TalkgateRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": TALKGATE_ANON_RATE,
        "reviewer": TALKGATE_REVIEWER_RATE,
        "verify": TALKGATE_VERIFY_RATE,
        "revoke": TALKGATE_REVOKE_PAGE_RATE,
        "capture": TALKGATE_CAPTURE_PAGE_RATE,
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.TalkgateAutoSchema",
    "EXCEPTION_HANDLER": "accounts.throttling.exception_handler",
    # `?format=` is an ordinary filter here (audit export), not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Talkgate API",
    "DESCRIPTION": (
        "Consent-gated talking-portrait generation. Partners authenticate with `Authorization: Bearer "
        '<prefix>.<secret>`; every error is `{"error": {"code", "message", "request_id"}}`.'
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The shared error body; list envelopes and error statuses come from accounts.schema.TalkgateAutoSchema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.schema.add_error_component",
    ],
    "ENUM_NAME_OVERRIDES": {
        "UseCaseEnum": "accounts.models.UseCase",
        "PartnerStatusEnum": "accounts.models.PartnerStatus",
        "AuditKindEnum": "accounts.models.AuditKind",
        "JobStatusEnum": "generation.models.JobStatus",
        "UploadKindEnum": "generation.models.Upload.Kind",
        "DeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        "ConsentStatusEnum": "moderation.models.ConsentStatus",
        "SubjectKindEnum": "moderation.models.SubjectKind",
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", IS_PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
# json: one JSON object per line with the request id and job id (core.logs), for a log collector; plain for people.
LOG_FORMAT = env_str("LOG_FORMAT", "plain", choices=["plain", "json"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Metrics (core/metrics.py) ------------------------------------------------------------------------------
# /metrics answers only a request with "Authorization: Bearer <token>"; unset, the endpoint does not exist (404).
TALKGATE_METRICS_TOKEN = env_str("TALKGATE_METRICS_TOKEN")
if TALKGATE_METRICS_TOKEN is not None and len(TALKGATE_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("TALKGATE_METRICS_TOKEN must be at least 16 characters.")
# Celery workers serve their metrics on this port (same token); 0: off. The web processes use /metrics instead.
TALKGATE_METRICS_PORT = env_int("TALKGATE_METRICS_PORT", 0, minimum=0, maximum=65535)
