"""Settings shared by every environment. Everything comes from the environment.

Each variable is listed in `.env.example` and in the README's settings table.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-insecure-key-change-me")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True

DATABASES = {"default": env.db("DATABASE_URL", default="postgres:///clinic")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
    }
}

# Push (monitoring.live): Channels' Redis layer, served by daphne on LIVE_PORT (`make run`).
# LIVE_PORT 0: the pages connect to their own origin (a proxy routes /ws/ to the push server).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": env("LIVE_REDIS_URL", default=REDIS_URL), "socket_connect_timeout": 2}],
            "prefix": env("LIVE_PREFIX", default="clinic-live"),
            "expiry": 30,
        },
    }
}
LIVE_PORT = env.int("LIVE_PORT", default=8001)
# How often a page polls while its push connection is down (seconds).
LIVE_POLL_SECONDS = env.int("LIVE_POLL_SECONDS", default=10)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "simple_history",
    "clinic",
    "patients",
    "infusions",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Audit trail: who changed clinical records (simple_history) and staff reads of a
    # patient's record (monitoring.audit.services), both after authentication.
    "simple_history.middleware.HistoryRequestMiddleware",
    "monitoring.audit.services.PatientAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "clinic.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

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
            ]
        },
    }
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# API tokens expire too (clinic.core.security.ExpiringTokenAuthentication); DELETE
# /api/v1/auth/token/ revokes one at once.
API_TOKEN_TTL_HOURS = env.int("DJANGO_API_TOKEN_TTL_HOURS", default=12)

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# E-mail: every setting Django's backends read comes from the environment.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_SSL_CERTFILE = env("EMAIL_SSL_CERTFILE", default=None)
EMAIL_SSL_KEYFILE = env("EMAIL_SSL_KEYFILE", default=None)
# Seconds an SMTP operation may block (keep it well under OUTBOX_CLAIM_LEASE_SECONDS).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# The folder of django.core.mail.backends.filebased.EmailBackend.
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_SUBJECT_PREFIX = env("EMAIL_SUBJECT_PREFIX", default="[Clinic] ")
EMAIL_USE_LOCALTIME = env.bool("EMAIL_USE_LOCALTIME", default=False)
# The domain of the outbox's Message-IDs (default: this host's name).
EMAIL_MESSAGE_ID_DOMAIN = env("EMAIL_MESSAGE_ID_DOMAIN", default="")
SERVER_EMAIL = env("SERVER_EMAIL", default="clinic@localhost")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="clinic@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.core.security.ExpiringTokenAuthentication",
        # The same token as `Authorization: Bearer <token>` (FHIR and OAuth clients).
        "clinic.core.security.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # The API reads JSON bodies only (the pages post their forms to Django views, not here).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Throttles count in the default cache (Redis), shared by every web process.
    "DEFAULT_THROTTLE_CLASSES": [
        "clinic.core.security.AnonRateThrottle",
        "clinic.core.security.UserRateThrottle",
        "clinic.core.security.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("DJANGO_THROTTLE_ANON", default="60/min"),
        "user": env("DJANGO_THROTTLE_USER", default="1200/min"),
        "sign_in": env("DJANGO_THROTTLE_SIGN_IN", default="10/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "clinic.core.pagination.HeaderLimitOffsetPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "clinic.core.schema.ClinicAutoSchema",
    "EXCEPTION_HANDLER": "clinic.core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Calendar feeds (infusions.scheduling.calendar): the domain part of every event's UID, the same
# however the feed is reached (a domain the clinic owns; never the request's Host).
CALENDAR_UID_DOMAIN = env("CALENDAR_UID_DOMAIN", default="infusion-clinic.invalid")

# FHIR export: the identifier system of the clinic's MRNs (an OID or URI the clinic owns).
FHIR_MRN_SYSTEM = env("FHIR_MRN_SYSTEM", default="urn:infusion-clinic:mrn")
# FHIR searches (monitoring.fhir.search): unknown or unsupported parameters are left out and
# reported ("lenient", R4's default) or refused with 400 ("strict"), unless the client's
# `Prefer: handling=` says otherwise; page size when the client gives no _count, and its cap.
FHIR_SEARCH_HANDLING = env.str("FHIR_SEARCH_HANDLING", default="lenient")
FHIR_DEFAULT_COUNT = env.int("FHIR_DEFAULT_COUNT", default=50)
FHIR_MAX_COUNT = env.int("FHIR_MAX_COUNT", default=500)

SPECTACULAR_SETTINGS = {
    "TITLE": "Infusion clinic API",
    "DESCRIPTION": (
        "Scheduling, weight-based dosing, bedside monitoring and follow-up of ketamine and "
        "esketamine infusions. Errors: 400 with a message per field, 409 `{detail, rule}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "clinic.core.schema.one_or_many_hook",
        "clinic.core.schema.email_default_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "FollowUpKindEnum": "monitoring.followups.models.FollowUpKind",
        "AssessmentInstrumentEnum": "patients.models.AssessmentInstrument",
        "AssessmentSourceEnum": "patients.models.AssessmentSource",
        "VitalsSourceEnum": "monitoring.vitals.models.VitalsSource",
        "FollowUpStatusEnum": "monitoring.followups.models.FollowUpStatus",
        "FollowUpAssigneeRoleEnum": "monitoring.followups.models.AssigneeRole",
        "FollowUpActionEnum": "monitoring.followups.models.FollowUpAction",
        "AppointmentStatusEnum": "infusions.scheduling.models.AppointmentStatus",
        "AppointmentKindEnum": "infusions.scheduling.models.AppointmentKind",
        "AppointmentEventKindEnum": "infusions.scheduling.models.AppointmentEventKind",
        # The bedside's choice sets share field names with others (kind, severity, route).
        "SideEffectKindEnum": "monitoring.bedside.models.SideEffectKind",
        "SideEffectSeverityEnum": "monitoring.bedside.models.SideEffectSeverity",
        "InterventionRouteEnum": "monitoring.bedside.models.InterventionRoute",
        "LedgerEntryKindEnum": "infusions.ledger.models.EntryKind",
        "LedgerContainerKindEnum": "infusions.ledger.models.ContainerKind",
        "LedgerLossKindEnum": "infusions.ledger.models.LossKind",
        "LedgerCountKindEnum": "infusions.ledger.models.CountKind",
        "LedgerCountMethodEnum": "infusions.ledger.models.CountMethod",
        "LedgerReconciliationStatusEnum": "infusions.ledger.models.ReconciliationStatus",
        "AlertResolutionActionEnum": "monitoring.alerts.models.ResolutionAction",
    },
}

# Celery: tasks take ids only, are idempotent and acknowledged late (STYLE.md).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An unacknowledged message (its worker died) is redelivered after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)

# Follow-ups (monitoring.followups.services): the planner and the dispatch tick. A tick that waited
# longer than its interval in the queue is dropped (`expires`): the next one does its work.
FOLLOWUP_TICK_SECONDS = env.float("FOLLOWUP_TICK_SECONDS", default=60.0)
FOLLOWUP_PLAN_SECONDS = env.float("FOLLOWUP_PLAN_SECONDS", default=300.0)
FOLLOWUP_DISPATCH_LEASE_SECONDS = env.int("FOLLOWUP_DISPATCH_LEASE_SECONDS", default=300)
FOLLOWUP_DISPATCH_BATCH_SIZE = env.int("FOLLOWUP_DISPATCH_BATCH_SIZE", default=500)
# Notification channels (monitoring.outbox.channels): the in-app inbox stores its deliveries;
# the others send through the outbox after commit, each on its own.
NOTIFICATION_CHANNELS = env.list(
    "NOTIFICATION_CHANNELS",
    default=["monitoring.outbox.channels.InboxChannel", "monitoring.outbox.channels.EmailChannel"],
)
# The outbox (monitoring.outbox): a claimed message not marked sent after the lease is sent
# again (its sender died); a failed one waits base x 2^(attempts-1) seconds, at most the max;
# the sweep re-enqueues both. A lost database connection while marking is retried this long.
OUTBOX_CLAIM_LEASE_SECONDS = env.float("OUTBOX_CLAIM_LEASE_SECONDS", default=300.0)
OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=30.0)
OUTBOX_RETRY_MAX_SECONDS = env.float("OUTBOX_RETRY_MAX_SECONDS", default=3600.0)
OUTBOX_MARK_RETRY_SECONDS = env.float("OUTBOX_MARK_RETRY_SECONDS", default=60.0)
OUTBOX_SEND_BATCH_SIZE = env.int("OUTBOX_SEND_BATCH_SIZE", default=100)
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {
    "task": "monitoring.outbox_sweep",
    "schedule": OUTBOX_SWEEP_SECONDS,
    "options": {"expires": OUTBOX_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE["followups-dispatch-due"] = {
    "task": "monitoring.followups_dispatch_due",
    "schedule": FOLLOWUP_TICK_SECONDS,
    "options": {"expires": FOLLOWUP_TICK_SECONDS},
}
CELERY_BEAT_SCHEDULE["followups-plan"] = {
    "task": "monitoring.followups_plan",
    "schedule": FOLLOWUP_PLAN_SECONDS,
    "options": {"expires": FOLLOWUP_PLAN_SECONDS},
}
# The bedside (monitoring.alerts.services): overdue vitals sets and alert escalation, every minute
# (CLINICAL.md §3: overdue after 5 min, escalation after 2 or 10 min). Idempotent scans.
BEDSIDE_TICK_SECONDS = env.float("BEDSIDE_TICK_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["bedside-vitals-overdue"] = {
    "task": "monitoring.vitals_overdue_scan",
    "schedule": BEDSIDE_TICK_SECONDS,
    "options": {"expires": BEDSIDE_TICK_SECONDS},
}
# Escalation notices (monitoring.alerts.notify): the sent channels besides the in-app notice;
# the webhook (SMS or pager gateway, README "Alert webhook") is used when ALERT_WEBHOOK_URL is set.
ALERT_CHANNELS = env.list(
    "ALERT_CHANNELS",
    default=["monitoring.alerts.notify.EmailChannel", "monitoring.alerts.notify.WebhookChannel"],
)
ALERT_WEBHOOK_URL = env("ALERT_WEBHOOK_URL", default="")
ALERT_WEBHOOK_TIMEOUT_SECONDS = env.float("ALERT_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
ALERT_DELIVERY_LEASE_SECONDS = env.float("ALERT_DELIVERY_LEASE_SECONDS", default=120.0)
# The start of the links in notices (acknowledge), e.g. https://clinic.example.org
ALERT_LINK_BASE = env("ALERT_LINK_BASE", default="http://127.0.0.1:8000")
CELERY_BEAT_SCHEDULE["bedside-alerts-escalate"] = {
    "task": "monitoring.alerts_escalate_scan",
    "schedule": BEDSIDE_TICK_SECONDS,
    "options": {"expires": BEDSIDE_TICK_SECONDS},
}

# Outcomes (monitoring.outcomes.services.worsening_check): courses with a score recorded in the last
# WORSENING_LOOKBACK_HOURS are run through the maintenance recommender every WORSENING_CHECK_SECONDS;
# a worsening becomes a clinician follow-up due at once (issue 15).
WORSENING_CHECK_SECONDS = env.float("WORSENING_CHECK_SECONDS", default=900.0)
WORSENING_LOOKBACK_HOURS = env.int("WORSENING_LOOKBACK_HOURS", default=24)
CELERY_BEAT_SCHEDULE["outcomes-worsening-check"] = {
    "task": "monitoring.outcomes_worsening_check",
    "schedule": WORSENING_CHECK_SECONDS,
    "options": {"expires": WORSENING_CHECK_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
