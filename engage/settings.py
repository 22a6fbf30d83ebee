"""Engage settings, read from the environment (12-factor).

Secure by default: DEBUG is off unless set, and there is no built-in SECRET_KEY (`make run` writes
a random one into var/ for the local run). Otherwise the defaults run on one machine: SQLite and a
filesystem Celery broker under var/, emails written to var/outbox/, and Django's database cache.
Every variable is documented in README.md.
"""

import ipaddress
import os
from datetime import date, timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from engage import identity, logs, mail_config

BASE_DIR = Path(__file__).resolve().parent.parent

# A deployment's variables from a file, for a process started with an empty environment (an MTA's
# pipe: README, "A pipe from the MTA"): KEY=value lines, read as data and never run by a shell.
# What the environment itself sets wins.
if os.environ.get("ENGAGE_ENV_FILE"):
    environ.Env.read_env(os.environ["ENGAGE_ENV_FILE"], overwrite=False)

VAR_DIR = Path(environ.Env().str("ENGAGE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# No default, not even for development: a known key forges every preference, unsubscribe and
# erase link.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set the SECRET_KEY environment variable to a long random value, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` (`make run` makes one "
        "in var/secret-key for the local run)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
SITE_URL = env.url("SITE_URL", default="http://127.0.0.1:8000").geturl().rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "newsletter.staff.admin_site.EngageAdminConfig",  # django.contrib.admin, with the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "django_ratelimit",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "ninja",  # the REST API (newsletter.api); serves its reference page's scripts locally
    "axes",
    "newsletter",
]

# django-axes first: it refuses a locked account or address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "newsletter.staff.sign_in.Backend",  # django-axes, for sign-ins over the web
    "django.contrib.auth.backends.ModelBackend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "newsletter.staff.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a paused sign-in with newsletter.staff.sign_in
    # Last, so it sees a view's database errors first: an outage is a 503, not a 500.
    "newsletter.web.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "engage.urls"
WSGI_APPLICATION = "engage.wsgi.application"

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
                "django.template.context_processors.csp",
                "newsletter.web.context_processors.organisation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'engage.sqlite3'}")}
# Persistent connections: a signup spends no time connecting (the health check, one SELECT 1,
# notices a connection that died with a database restart).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process, a worker and beat share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every process (rate limits, the join page's generation): CACHE_URL (Redis) when set,
# otherwise a table in the database (created by `migrate`), whose increments engage.cache keeps
# atomic. Enough for one machine; Redis takes the load off the database.
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
else:
    CACHES = {
        "default": {"BACKEND": "engage.cache.AtomicDatabaseCache", "LOCATION": "engage_cache"}
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Images staff upload (newsletter.content.images). Engage serves them itself at MEDIA_URL (see
# engage/urls.py): a docker volume in production, var/media on one machine. SERVE_MEDIA=false when
# a web server or a CDN serves MEDIA_ROOT instead.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request bodies: the public endpoints take small forms and JSON; anything larger is refused
# before a view reads it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)

# --- Email -----------------------------------------------------------------------------------
# Django 6.1's MAILERS, from the environment (engage/mail_config.py says how): EMAIL_URL for SMTP,
# ESP=<name> plus ANYMAIL_* keys for a django-anymail backend, neither: .eml files in var/outbox/.
EMAIL_OUTBOX_DIR = VAR_DIR / "outbox"
SMTP_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
MAILERS = {
    "default": mail_config.default_mailer(
        env.ENVIRON, outbox_dir=str(EMAIL_OUTBOX_DIR), timeout=SMTP_TIMEOUT
    )
}
ANYMAIL = mail_config.anymail_settings(env.ENVIRON)
# Tests only: a loopback stand-in for Amazon SNS's certificate host (inbound/sns_signature.py).
SNS_CERT_URL_ALLOW = mail_config.sns_cert_url_allow(env.ENVIRON)
# The charity's identity. The defaults are the demo charity's: with DEBUG off nothing starts until
# they are the charity's own (engage/identity.py).
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=identity.DEMO_FROM_EMAIL)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ORGANISATION_NAME = env.str("ORGANISATION_NAME", default=identity.DEMO_NAME)
ORGANISATION_ADDRESS = env.str("ORGANISATION_ADDRESS", default=identity.DEMO_ADDRESS)
_from_domain = identity.domain_of(DEFAULT_FROM_EMAIL)
# The mailbox that receives mailto: unsubscribe requests (List-Unsubscribe's second URI).
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default=f"unsubscribe@{_from_domain}")
LIST_ID = env.str("LIST_ID", default=f"news.{_from_domain}")
# Mail that comes back (newsletter.inbound). BOUNCE_ADDRESS turns VERP on: each campaign message's
# envelope sender becomes bounces+<token>@domain. INBOUND_MAILBOX_URL is polled by beat.
BOUNCE_ADDRESS = env.str("BOUNCE_ADDRESS", default="")
BOUNCE_TOKEN_MAX_AGE_DAYS = env.int("BOUNCE_TOKEN_MAX_AGE_DAYS", default=90)
INBOUND_MAILBOX_URL = env.str("INBOUND_MAILBOX_URL", default="")
INBOUND_POLL_SECONDS = env.float("INBOUND_POLL_SECONDS", default=60.0)
INBOUND_MAX_BYTES = env.int("INBOUND_MAX_BYTES", default=10 * 1024 * 1024)
INBOUND_RETENTION_DAYS = env.int("INBOUND_RETENTION_DAYS", default=30)
# The authserv-id with which the server that receives UNSUBSCRIBE_MAILTO's mail signs its own
# Authentication-Results header: a request by mail without a token acts only on its DMARC pass.
INBOUND_AUTHSERV_ID = env.str("INBOUND_AUTHSERV_ID", default="")
DKIM_PRIVATE_KEY_PATH = env.str("DKIM_PRIVATE_KEY_PATH", default="")
DKIM_SELECTOR = env.str("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env.str("DKIM_DOMAIN", default="")
# The DNS server the sender authentication check asks ("host:port"); the system's resolver if empty.
DNS_RESOLVER = env.str("DNS_RESOLVER", default="")

# --- Engage behaviour ------------------------------------------------------------------------
CONSENT_VERSION = env.str("CONSENT_VERSION", default="2026-11")
CONFIRMATION_MAX_AGE = env.int("CONFIRMATION_MAX_AGE", default=7 * 24 * 3600)
CONFIRMATION_RESEND_INTERVAL = env.int("CONFIRMATION_RESEND_INTERVAL", default=10 * 60)
SIGNUP_RATE = env.str("SIGNUP_RATE", default="10/m")
# Confirmation emails to one address per day, on top of one per CONFIRMATION_RESEND_INTERVAL.
CONFIRMATION_DAILY_CAP = env.int("CONFIRMATION_DAILY_CAP", default=3)
# The date PECR's charity soft opt-in (Data (Use and Access) Act 2025, s. 114) came into force;
# unset, no contact can be recorded on that basis. Only contacts collected since count.
_soft_opt_in_from = env.str("CHARITY_SOFT_OPT_IN_FROM", default="")
CHARITY_SOFT_OPT_IN_FROM = date.fromisoformat(_soft_opt_in_from) if _soft_opt_in_from else None
# The key of suppression hashes and webhook event ids. Keep it when rotating SECRET_KEY, or every
# erased address becomes unrecognisable.
ADDRESS_HASH_KEY = env.str("ADDRESS_HASH_KEY", default=SECRET_KEY)

# --- Retention (newsletter.subscribers.retention, run daily by beat) ---------------------------
RETENTION_WEBHOOK_EVENTS_DAYS = env.int("RETENTION_WEBHOOK_EVENTS_DAYS", default=90)
RETENTION_INBOUND_MESSAGES_DAYS = env.int("RETENTION_INBOUND_MESSAGES_DAYS", default=90)
RETENTION_DELIVERY_ERRORS_DAYS = env.int("RETENTION_DELIVERY_ERRORS_DAYS", default=30)
# The IP address and browser of a signup: kept as evidence of consent for this long, then blanked.
RETENTION_CONSENT_NETWORK_DAYS = env.int("RETENTION_CONSENT_NETWORK_DAYS", default=90)
# Pending subscribers (signed up or imported) whom no one confirmed: deleted after this long.
RETENTION_UNCONFIRMED_DAYS = env.int("RETENTION_UNCONFIRMED_DAYS", default=30)
# An uploaded CSV of subscribers: deleted when its import finishes, or after this long unimported.
RETENTION_IMPORT_FILE_HOURS = env.int("RETENTION_IMPORT_FILE_HOURS", default=24)
# 0 = unlimited; through an ESP the default is the cap it documents (engage/mail_config.py).
SEND_RATE_PER_SECOND = env.float(
    "SEND_RATE_PER_SECOND", default=mail_config.default_send_rate(env.ENVIRON)
)
# Through an ESP: batch calls where it personalises them (newsletter/delivery/senders/esp.py),
# else this many calls at once per batch; ESP_BATCH_CALLS=false forces one call per message.
ESP_CONCURRENCY = env.int("ESP_CONCURRENCY", default=4)
ESP_BATCH_CALLS = env.bool("ESP_BATCH_CALLS", default=True)
SEND_BATCH_SIZE = env.int(
    "SEND_BATCH_SIZE",
    default=mail_config.default_batch_size(env.ENVIRON, batch_calls=ESP_BATCH_CALLS),
)
PREPARE_CHUNK_SIZE = env.int("PREPARE_CHUNK_SIZE", default=2000)
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=300)
# Seconds a transient failure of a recipient keeps being retried after the row's first try.
DELIVERY_RETRY_HORIZON = env.int("DELIVERY_RETRY_HORIZON", default=24 * 3600)
SOFT_BOUNCE_LIMIT = env.int("SOFT_BOUNCE_LIMIT", default=3)
# The reputation watch (newsletter/delivery/reputation.py): a sending campaign pauses itself when,
# over the rolling window and once at least REPUTATION_MIN_SENT went out, its complaints, hard
# bounces (the recipient's) or refusals of our sending pass these rates.
REPUTATION_WATCH = env.bool("REPUTATION_WATCH", default=True)
REPUTATION_WINDOW_SECONDS = env.int("REPUTATION_WINDOW_SECONDS", default=3600)
REPUTATION_MIN_SENT = env.int("REPUTATION_MIN_SENT", default=500)
REPUTATION_COMPLAINT_RATE = env.float("REPUTATION_COMPLAINT_RATE", default=0.003)
REPUTATION_HARD_BOUNCE_RATE = env.float("REPUTATION_HARD_BOUNCE_RATE", default=0.05)
REPUTATION_REJECTION_RATE = env.float("REPUTATION_REJECTION_RATE", default=0.01)
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# W001 only says the cache is not on django-ratelimit's list: Django's own RedisCache postdates
# it, and engage.cache's increments are atomic. A per-process cache (E003) is still refused.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
# Failed staff sign-ins (django-axes, newsletter.staff.sign_in): AXES_FAILURE_LIMIT wrong tries
# pause an account, and as many from one client address pause that address, for
# AXES_COOLOFF_MINUTES; a success clears the count. `manage.py axes_reset_username NAME` lifts a
# pause at once. A wrong second-factor code counts like a wrong password.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "newsletter.web.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "newsletter.staff.sign_in.locked_out"
AXES_ENABLE_ADMIN = False  # attempts are read with `manage.py axes_list_attempts`
AXES_VERBOSE = False
# Staff sign in with a code from an authenticator app (or a recovery code) as well as a password.
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Engage")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # an authenticator's key is shown once, at enrolment
# Test sends: how many a sender may start per hour (each to their own and a few named addresses).
SEND_TEST_RATE = env.str("SEND_TEST_RATE", default="5/h")

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    # kombu's filesystem transport expects its folders to exist already.
    for _folder in (_queue_dir, VAR_DIR / "broker-control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
else:
    # Redis redelivers an unacknowledged task after the visibility timeout: it must be longer than
    # any task's hard time limit, or a slow batch would run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat of one deployment share a queue name; another deployment (or a test with a
# database of its own) on the same Redis uses another name, so neither runs the other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Beat keeps its schedule's last runs in a file, in a folder that may not exist on a fresh clone.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "BEAT_SCHEDULE_FILE", default=str(VAR_DIR / "celerybeat-schedule")
)
Path(CELERY_BEAT_SCHEDULE_FILENAME).parent.mkdir(parents=True, exist_ok=True)
# Beat records a heartbeat in the cache (engage/beat.py); /healthz answers 503 when the last one
# is older than BEAT_STALE_SECONDS. Beat wakes at least every 30 s to record it.
CELERY_BEAT_SCHEDULER = "engage.beat:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
BEAT_STALE_SECONDS = env.int("BEAT_STALE_SECONDS", default=180)
# /metrics (Prometheus) answers only requests that carry this token (Authorization: Bearer …);
# unset, it answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
CELERY_BEAT_SCHEDULE = {
    "tick": {"task": "newsletter.tasks.tick", "schedule": env.float("TICK_SECONDS", default=60.0)},
    "series": {
        "task": "newsletter.tasks.series_tick",
        "schedule": env.float("TICK_SECONDS", default=60.0),
    },
    "retention": {
        "task": "newsletter.tasks.apply_retention",
        "schedule": crontab(hour=3, minute=17),
    },
}
if INBOUND_MAILBOX_URL:
    CELERY_BEAT_SCHEDULE["inbound-poll"] = {
        "task": "newsletter.tasks.inbound_poll",
        "schedule": INBOUND_POLL_SECONDS,
    }

# --- The REST API and outgoing webhooks (newsletter.api) ------------------------------------
# Requests per key (django-ratelimit's rate syntax), counted in the shared cache.
API_RATE = env.str("API_RATE", default="600/m")
# A webhook that keeps failing is retried with growing waits (capped) for this long, then given up.
WEBHOOK_RETRY_HORIZON = env.int("WEBHOOK_RETRY_HORIZON", default=24 * 3600)
WEBHOOK_RETRY_FIRST = env.int("WEBHOOK_RETRY_FIRST", default=30)
WEBHOOK_RETRY_MAX = env.int("WEBHOOK_RETRY_MAX", default=300)
# An endpoint failing for this long is paused and staff are told.
WEBHOOK_PAUSE_AFTER = env.int("WEBHOOK_PAUSE_AFTER", default=3 * 24 * 3600)
# Events sent at once to one endpoint (each carries its sequence number, so the receiver orders
# them); the next window waits until this one is delivered. Lower it for a receiver that cannot
# take that many requests at once.
WEBHOOK_WINDOW = env.int("WEBHOOK_WINDOW", default=100)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# Endpoints must be https:// and resolve to public addresses; tests and development allow
# http:// to loopback only with this on.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)

# --- Security --------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS is opt-in (a wrong value locks browsers out for its whole duration); once on, it covers
# subdomains and allows preloading unless the environment says otherwise.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
# The proxies in front of Engage (addresses or networks, or "*" for a platform's router): only
# their X-Forwarded-For and X-Forwarded-Proto are believed (newsletter/clientip.py). Without any,
# a client could claim any address to dodge the rate limits, or claim HTTPS.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _entry in TRUSTED_PROXIES:
    if _entry != "*":
        try:
            ipaddress.ip_network(_entry)
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {_entry!r} is not an IP address or network (nor '*')."
            )
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
RATELIMIT_IP_META_KEY = "newsletter.web.clientip.client_ip"
SECURE_CSP = {
    "default-src": ["'self'"],
    # SITE_URL: uploaded images in the admin's previews, whatever host name the page was opened by.
    "img-src": ["'self'", "https:", "data:", SITE_URL],
    "style-src": ["'self'", "'unsafe-inline'"],
    "frame-src": ["'self'"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'self'"],
}
# Pages that may frame /join/embed/ (its CSP frame-ancestors) and post its form, e.g.
# https://www.example.org.
EMBED_ALLOWED_ORIGINS = env.list("EMBED_ALLOWED_ORIGINS", default=["'self'"])
# How long browsers and CDNs keep the embed (max-age and s-maxage): a topic change shows after it.
EMBED_CACHE_SECONDS = env.int("EMBED_CACHE_SECONDS", default=300)

# Logs keep no bearer token (the path of a confirm, preferences, unsubscribe or tracking link) and
# no address, and an expected 403 is one line at INFO (engage/logs.py). LOG_FORMAT=json: one JSON
# object per line.
LOGGING = logs.config(
    level=env.str("LOG_LEVEL", default="INFO"), json=env.str("LOG_FORMAT", default="") == "json"
)
