"""Configuration classes; the only module that reads os.environ."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DISPATCH_INSTANCE_DIR", BASE_DIR / "instance"))


# The credentials of the project's local fake of Twilio, which `make run` uses. They are public (here, in the
# source), so production refuses to start with them: webhooks signed with this token would be believed.
DEVELOPMENT_TWILIO_ACCOUNT_SID = "AC" + "fa4e".ljust(32, "0")
DEVELOPMENT_TWILIO_AUTH_TOKEN = "fake-auth-token"


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
    # How often an open board re-reads itself when its live stream is down (the stream tells it of changes).
    BOARD_REFRESH_SECONDS = int(os.environ.get("BOARD_REFRESH_SECONDS", "10"))
    # Where boards open their stream of changes (dispatch/board_stream.py): a path on this site when a proxy sends
    # it to the stream process, or a whole URL on another origin (`make run`: the stream's own port).
    BOARD_STREAM_URL = os.environ.get("BOARD_STREAM_URL", "/board/stream")
    # Jobs neither urgent nor late the board shows in full (soonest due first) before folding the rest.
    BOARD_SHOWN_SOONEST = int(os.environ.get("BOARD_SHOWN_SOONEST", "40"))
    SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "1"))
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # Twilio. Without an account SID, `make run` starts the project's local fake of Twilio.
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", DEVELOPMENT_TWILIO_ACCOUNT_SID)
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", DEVELOPMENT_TWILIO_AUTH_TOKEN)
    # false: the hospital runs without SMS (no Twilio account); the SMS and voice webhooks then answer 403.
    SMS_ENABLED = _bool("SMS_ENABLED", True)
    # During an auth-token rotation, webhooks signed with the previous token are accepted too.
    TWILIO_AUTH_TOKEN_SECONDARY = os.environ.get("TWILIO_AUTH_TOKEN_SECONDARY")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "+15005550006")
    TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID")
    TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL")  # e.g. the local fake, http://127.0.0.1:8026
    TWILIO_HTTP_TIMEOUT = float(os.environ.get("TWILIO_HTTP_TIMEOUT", "10"))
    # The URL Twilio uses to reach us (behind a proxy it differs from what Flask sees); signatures cover it.
    TWILIO_WEBHOOK_BASE_URL = os.environ.get("TWILIO_WEBHOOK_BASE_URL")
    # While Twilio fails temporarily, a job's or an escalation's message is retried (at most a minute apart)
    # for as long as it matters; any other message (coverage report, swap, a note to the technician taken
    # off a job) is retried for this many hours, then marked failed.
    SMS_RETRY_HOURS = float(os.environ.get("SMS_RETRY_HOURS", "12"))
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
    # Signing in with the hospital's directory (docs/operations.md, "Active Directory"). Unset: local accounts only.
    # LDAP / Active Directory: search for the person as the service account, then bind as them.
    LDAP_URL = os.environ.get("LDAP_URL") or None  # ldaps://dc1.hospital.local or ldap://... with LDAP_START_TLS
    LDAP_BIND_DN = os.environ.get("LDAP_BIND_DN") or None
    LDAP_BIND_PASSWORD = os.environ.get("LDAP_BIND_PASSWORD") or None
    LDAP_USER_BASE = os.environ.get("LDAP_USER_BASE", "")
    # {username} is replaced by what was typed (escaped); Active Directory: (sAMAccountName={username}).
    LDAP_USER_FILTER = os.environ.get("LDAP_USER_FILTER", "(&(objectClass=person)(uid={username}))")
    LDAP_USERNAME_ATTRIBUTE = os.environ.get("LDAP_USERNAME_ATTRIBUTE", "uid")  # AD: sAMAccountName
    LDAP_NAME_ATTRIBUTE = os.environ.get("LDAP_NAME_ATTRIBUTE", "displayName")
    # Groups from an attribute of the person (AD and OpenLDAP's memberof overlay: memberOf), or, when it is
    # empty, by searching LDAP_GROUP_BASE with LDAP_GROUP_FILTER ({dn} is the person's DN).
    LDAP_GROUP_ATTRIBUTE = os.environ.get("LDAP_GROUP_ATTRIBUTE", "memberOf")
    LDAP_GROUP_BASE = os.environ.get("LDAP_GROUP_BASE", "")
    LDAP_GROUP_FILTER = os.environ.get("LDAP_GROUP_FILTER", "(|(member={dn})(uniqueMember={dn}))")
    # Matches the accounts the directory has disabled; the default is Active Directory's ACCOUNTDISABLE bit.
    LDAP_DISABLED_FILTER = os.environ.get("LDAP_DISABLED_FILTER", "(userAccountControl:1.2.840.113556.1.4.803:=2)")
    LDAP_START_TLS = _bool("LDAP_START_TLS")
    LDAP_CA_FILE = os.environ.get("LDAP_CA_FILE") or None  # the CA that signed the directory's certificate
    # When (hospital time, whole hour) the scheduler checks every LDAP account against the directory.
    DIRECTORY_SYNC_HOUR = int(os.environ.get("DIRECTORY_SYNC_HOUR", "2"))
    LDAP_TIMEOUT = float(os.environ.get("LDAP_TIMEOUT", "5"))
    # Production refuses plain ldap:// without StartTLS (passwords in clear on the wire) unless this is set.
    LDAP_ALLOW_INSECURE = _bool("LDAP_ALLOW_INSECURE")
    # OpenID Connect (Azure AD / Entra ID, ADFS, Keycloak...): authorization code with PKCE.
    # The first directory sign-in may take over a local account of the same name (see
    # dispatch.services.directory.may_adopt_local_account): on for LDAP unless switched off; off for OpenID
    # unless switched on, and then only with a verified email claim.
    LDAP_ADOPT_LOCAL_ACCOUNTS = _bool("LDAP_ADOPT_LOCAL_ACCOUNTS", True)
    OIDC_ADOPT_LOCAL_ACCOUNTS = _bool("OIDC_ADOPT_LOCAL_ACCOUNTS")
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER") or None
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID") or None
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET") or None
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid profile email groups")
    OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
    OIDC_USERNAME_CLAIM = os.environ.get("OIDC_USERNAME_CLAIM", "preferred_username")
    OIDC_TIMEOUT = float(os.environ.get("OIDC_TIMEOUT", "10"))
    # The button's words: "Sign in with <OIDC_BUTTON_NAME> account" (the hospital's name unless set).
    OIDC_BUTTON_NAME = os.environ.get("OIDC_BUTTON_NAME") or None
    # With OpenID Connect set up, whether the login page shows the local password form too ("yes"), or only
    # behind a "Local sign-in (break-glass)" link ("link").
    LOCAL_LOGIN_FORM = os.environ.get("LOCAL_LOGIN_FORM", "yes")
    # Photos on tickets (dispatch.services.photos). Each upload is re-encoded: its longest side cut to
    # PHOTO_MAX_SIDE pixels, a thumbnail of PHOTO_THUMB_SIDE made. A file over PHOTO_MAX_BYTES, or an image
    # of more than PHOTO_MAX_PIXELS (a decompression bomb) is refused before it is decoded.
    PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(12 * 1024 * 1024)))
    PHOTO_MAX_PER_UPLOAD = int(os.environ.get("PHOTO_MAX_PER_UPLOAD", "3"))
    PHOTO_MAX_PER_TICKET = int(os.environ.get("PHOTO_MAX_PER_TICKET", "20"))
    PHOTO_MAX_PIXELS = int(os.environ.get("PHOTO_MAX_PIXELS", "50000000"))
    PHOTO_MAX_SIDE = int(os.environ.get("PHOTO_MAX_SIDE", "1600"))
    PHOTO_THUMB_SIDE = int(os.environ.get("PHOTO_THUMB_SIDE", "320"))
    PHOTO_JPEG_QUALITY = int(os.environ.get("PHOTO_JPEG_QUALITY", "82"))
    # An inspection certificate's report (dispatch.services.certificates): a PDF checked page by page for
    # scripts, launch actions and attached files, or a photo redrawn like the tickets' photos.
    CERTIFICATE_MAX_BYTES = int(os.environ.get("CERTIFICATE_MAX_BYTES", str(15 * 1024 * 1024)))
    # A whole request (a report with its photos) may be no larger than the photos allowed plus 1 MB of form.
    MAX_CONTENT_LENGTH = PHOTO_MAX_BYTES * PHOTO_MAX_PER_UPLOAD + 1024 * 1024
    # Reports from QR labels without logging in (dispatch.services.qr_labels), in Flask-Limiter's notation:
    # per place (however many labels it has) and per client address. A filer follows the ticket for QR_FOLLOW_DAYS.
    QR_PLACE_RATE_LIMIT = os.environ.get("QR_PLACE_RATE_LIMIT", "6/hour")
    QR_ADDRESS_RATE_LIMIT = os.environ.get("QR_ADDRESS_RATE_LIMIT", "10/hour")
    QR_FOLLOW_DAYS = int(os.environ.get("QR_FOLLOW_DAYS", "14"))
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


def check_directory_settings(config) -> None:
    """Half a directory set-up is refused at start rather than found out at the first sign-in; production
    refuses to send passwords to the directory in clear unless LDAP_ALLOW_INSECURE says so."""
    url = config.get("LDAP_URL")
    if url:
        scheme = url.split("://", 1)[0].lower()
        if scheme not in ("ldap", "ldaps"):
            raise RuntimeError(f"LDAP_URL must start with ldap:// or ldaps://, not {url!r}")
        if not config.get("LDAP_USER_BASE"):
            raise RuntimeError("LDAP_USER_BASE must be set with LDAP_URL")
        if "{username}" not in (config.get("LDAP_USER_FILTER") or ""):
            raise RuntimeError("LDAP_USER_FILTER must hold {username}")
        if scheme == "ldaps" and config.get("LDAP_START_TLS"):
            raise RuntimeError("LDAP_START_TLS is for ldap:// URLs; ldaps:// is encrypted already")
        insecure = scheme == "ldap" and not config.get("LDAP_START_TLS")
        production = config.get("ENV_NAME") == "production" or config.get("SESSION_COOKIE_SECURE")
        if insecure and production and not config.get("LDAP_ALLOW_INSECURE"):
            raise RuntimeError("LDAP_URL is plain ldap:// without LDAP_START_TLS: passwords would cross the network "
                               "in clear. Use ldaps://, or set LDAP_START_TLS=true, or (not advised) "
                               "LDAP_ALLOW_INSECURE=true")
    if config.get("OIDC_ISSUER"):
        if not config.get("OIDC_CLIENT_ID") or not config.get("OIDC_CLIENT_SECRET"):
            raise RuntimeError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
        production = config.get("ENV_NAME") == "production" or config.get("SESSION_COOKIE_SECURE")
        if production and not config["OIDC_ISSUER"].lower().startswith("https://"):
            raise RuntimeError("OIDC_ISSUER must be an https:// address in production")
    if config.get("LOCAL_LOGIN_FORM", "yes") not in ("yes", "link"):
        raise RuntimeError("LOCAL_LOGIN_FORM must be 'yes' or 'link'")


def check_twilio_credentials(config) -> None:
    """Production only. Inbound SMS and call webhooks are believed on Twilio's signature, made with the auth
    token: with the token unset, or the development one anyone can read, a forged SMS reply would be
    accepted. So production starts only with a real account SID and token, or with SMS turned off."""
    if not config.get("SMS_ENABLED", True):
        return
    turn_off = "or set SMS_ENABLED=false to run without SMS"
    for name, development in (("TWILIO_ACCOUNT_SID", DEVELOPMENT_TWILIO_ACCOUNT_SID),
                              ("TWILIO_AUTH_TOKEN", DEVELOPMENT_TWILIO_AUTH_TOKEN)):
        value = (config.get(name) or "").strip()
        if not value:
            raise RuntimeError(f"{name} must be set in production to your Twilio account's value ({turn_off})")
        if value == development:
            raise RuntimeError(f"{name} is the development default, which anyone can read in Dispatch's source: "
                               f"set {name} to your Twilio account's value ({turn_off})")
    if (config.get("TWILIO_AUTH_TOKEN_SECONDARY") or "").strip() == DEVELOPMENT_TWILIO_AUTH_TOKEN:
        raise RuntimeError("TWILIO_AUTH_TOKEN_SECONDARY is the development default, which anyone can read in "
                           "Dispatch's source: set it to your previous Twilio auth token, or unset it")


def config_from_environment() -> type[Config]:
    return CONFIGS[os.environ.get("DISPATCH_ENV", "development")]


def kept_secret_key() -> str:
    return _kept_secret_key()


def env_bool(name: str, default: bool = False) -> bool:
    return _bool(name, default)
