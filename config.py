"""Configuration classes; the only module that reads os.environ."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DISPATCH_INSTANCE_DIR", BASE_DIR / "instance"))


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'dispatch.sqlite3'}"


def _kept_secret_key() -> str:
    """Development only: generate a key once and keep it under instance/ so sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _default_database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "dispatch")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Display zone; everything is stored in UTC.
    HOSPITAL_TIMEZONE = os.environ.get("HOSPITAL_TIMEZONE", "Asia/Shanghai")
    HOSPITAL_NAME = os.environ.get("HOSPITAL_NAME", "General Hospital")
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "en")
    BABEL_DEFAULT_TIMEZONE = "UTC"
    WTF_CSRF_TIME_LIMIT = None  # a ward PC stays logged in all shift; the token lives as long as the session
    BOARD_REFRESH_SECONDS = int(os.environ.get("BOARD_REFRESH_SECONDS", "10"))
    SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "1"))
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # Twilio. Without an account SID, `make run` starts the project's local fake of Twilio.
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "AC" + "fa4e".ljust(32, "0"))
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "fake-auth-token")
    # During an auth-token rotation, webhooks signed with the previous token are accepted too.
    TWILIO_AUTH_TOKEN_SECONDARY = os.environ.get("TWILIO_AUTH_TOKEN_SECONDARY")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "+15005550006")
    TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID")
    TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL")  # e.g. the local fake, http://127.0.0.1:8026
    TWILIO_HTTP_TIMEOUT = float(os.environ.get("TWILIO_HTTP_TIMEOUT", "10"))
    # The URL Twilio uses to reach us (behind a proxy it differs from what Flask sees); signatures cover it.
    TWILIO_WEBHOOK_BASE_URL = os.environ.get("TWILIO_WEBHOOK_BASE_URL")
    SMS_MAX_ATTEMPTS = int(os.environ.get("SMS_MAX_ATTEMPTS", "8"))
    # The scheduler's SMS sweep: a message still 'pending' this long after its job was queued is queued again
    # (the job was lost with Redis); one still 'sending' this long after a worker took it is looked up at
    # Twilio (the worker died mid-send). See check_sms_timings.
    SMS_REQUEUE_AFTER_SECONDS = float(os.environ.get("SMS_REQUEUE_AFTER_SECONDS", "30"))
    SMS_STUCK_AFTER_SECONDS = float(os.environ.get("SMS_STUCK_AFTER_SECONDS", "60"))
    # Priorities sent to the on-call technician at once, without waiting for the dispatcher.
    AUTO_DISPATCH_PRIORITIES = tuple(int(p) for p in os.environ.get("AUTO_DISPATCH_PRIORITIES", "1,2").split(",") if p.strip())
    # When (hospital time) the duty manager gets the daily SMS of on-call coverage gaps.
    COVERAGE_REPORT_HOUR = int(os.environ.get("COVERAGE_REPORT_HOUR", "8"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Flask-Login's "remember me" cookie: no script reads it, and no other site's form sends it.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # flask-smorest / OpenAPI
    API_TITLE = "Dispatch API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # Browsable at /api/docs from the Swagger UI files of the swagger-ui-bundle package, served by the app itself.
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/static/"
    API_SPEC_OPTIONS = {
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    # Alarm intake: per token, in Flask-Limiter's notation; counted in Redis (REDIS_URL unless set).
    ALARM_RATE_LIMIT = os.environ.get("ALARM_RATE_LIMIT", "120/minute")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI")
    # Password guessing: failed logins counted per account and per client address (Flask-Limiter notation).
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5/minute;20/hour")
    LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "30/minute")
    # How many reverse proxies in front of the app set X-Forwarded-For / -Proto (0: none, the headers are ignored).
    PROXY_FIX_X_FOR = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Major incidents: this many reports of one trade from one building within the window are proposed
    # to the dispatcher as one incident; from the auto threshold on they are grouped without asking.
    MAJOR_INCIDENT_WINDOW_MINUTES = int(os.environ.get("MAJOR_INCIDENT_WINDOW_MINUTES", "15"))
    MAJOR_INCIDENT_THRESHOLD = int(os.environ.get("MAJOR_INCIDENT_THRESHOLD", "3"))
    MAJOR_INCIDENT_AUTO_THRESHOLD = int(os.environ.get("MAJOR_INCIDENT_AUTO_THRESHOLD", "5"))
    # Who may read GET /metrics (Prometheus): a scraper sending `Authorization: Bearer <METRICS_TOKEN>`,
    # or one calling from these addresses or networks (comma-separated; `localhost` = 127.0.0.1 and ::1).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_ALLOW_FROM = os.environ.get("METRICS_ALLOW_FROM", "localhost")
    # Where `flask backup` writes when given no file name.
    BACKUP_DIR = os.environ.get("BACKUP_DIR") or str(INSTANCE_DIR / "backups")
    # Cost. Money is kept to two decimals in this currency (ISO 4217).
    CURRENCY = os.environ.get("CURRENCY", "CNY")
    # Labour is paid at the normal rate from NORMAL_HOURS_START to NORMAL_HOURS_END (hospital time, whole
    # hours), Monday to Friday, and at the out-of-hours rate before, after, at weekends and on the
    # public holidays listed in HOLIDAYS (comma-separated YYYY-MM-DD).
    NORMAL_HOURS_START = int(os.environ.get("NORMAL_HOURS_START", "8"))
    NORMAL_HOURS_END = int(os.environ.get("NORMAL_HOURS_END", "18"))
    HOLIDAYS = tuple(d.strip() for d in os.environ.get("HOLIDAYS", "").split(",") if d.strip())
    # Planned work (opened by a maintenance schedule, not reported by a ward) is listed for the ward to confirm
    # once resolved only when this is on; by default the ward is not asked about work it never reported.
    PLANNED_WORK_NEEDS_WARD_CONFIRMATION = os.environ.get("PLANNED_WORK_NEEDS_WARD_CONFIRMATION", "0").lower() in (
        "1", "true", "yes", "on")
    # The compliance trend: a month where a trade had fewer counted tickets than this is drawn as a hollow point,
    # not joined by the line (one late job in a quiet month is not a collapse).
    CHART_MIN_TICKETS = int(os.environ.get("CHART_MIN_TICKETS", "5"))
    TESTING = False


class DevelopmentConfig(Config):
    SECRET_KEY = Config.SECRET_KEY or None  # filled lazily by create_app via kept_secret_key()


class ProductionConfig(Config):
    ENV_NAME = "production"  # create_app refuses to start without SECRET_KEY
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    WTF_CSRF_ENABLED = True


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def check_sms_timings(config) -> None:
    """A message must not be taken for stuck while a live worker may still be waiting for Twilio's answer:
    the lookup would find nothing yet and the message would be sent a second time."""
    stuck, timeout = float(config["SMS_STUCK_AFTER_SECONDS"]), float(config["TWILIO_HTTP_TIMEOUT"])
    if stuck <= timeout:
        raise RuntimeError(f"SMS_STUCK_AFTER_SECONDS ({stuck:g}) must be longer than TWILIO_HTTP_TIMEOUT ({timeout:g})")
    if float(config["SMS_REQUEUE_AFTER_SECONDS"]) <= 0:
        raise RuntimeError("SMS_REQUEUE_AFTER_SECONDS must be above 0")


def config_from_environment() -> type[Config]:
    return CONFIGS[os.environ.get("DISPATCH_ENV", "development")]


def kept_secret_key() -> str:
    return _kept_secret_key()


def env_bool(name: str, default: bool = False) -> bool:
    return _bool(name, default)
