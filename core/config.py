"""Configuration read from the environment (see .env.example for every variable)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Local-mode credentials for the bundled fake Twilio. They only ever talk to loopback.
LOCAL_ACCOUNT_SID = "AC" + "0" * 32
LOCAL_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"  # noqa: S105 - same dev value as simulator.server
LOCAL_PHONE_NUMBER = "+15005550006"
# Words support callers say that tiny.en mishears without help ("my mother with friction").
DEFAULT_VOCABULARY = (
    "prescription, pharmacy, refund, bill, invoice, engineer, appointment, broadband, router, "
    "direct debit, overcharged"
)


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """A setting with a few allowed values; the first is the default."""
    chosen = (env.get(name) or allowed[0]).strip().lower()
    if chosen not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {env.get(name)!r}")
    return chosen


def database_uri(url: str | None, instance: Path) -> str:
    """SQLAlchemy URI; plain ``postgresql://`` URLs use the psycopg 3 driver we ship."""
    if not url:
        return f"sqlite:///{instance / 'app.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(
    environ: dict[str, str] | None = None, instance_path: str = "instance"
) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables.

    Without Twilio credentials the app runs in *local mode*: it talks to the bundled
    fake Twilio on ``TWILIO_API_BASE_URL`` (default http://127.0.0.1:5099).
    """
    env = dict(os.environ if environ is None else environ)
    instance = Path(env.get("INSTANCE_PATH", instance_path)).resolve()
    port = _int(env.get("PORT"), 5000)
    sid = env.get("TWILIO_ACCOUNT_SID", "")
    token = env.get("TWILIO_AUTH_TOKEN", "")
    local_mode = not (sid and token)
    return {
        "INSTANCE_DIR": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_uri(env.get("DATABASE_URL"), instance),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL", ""),
        "EMBEDDED_REDIS_PATH": env.get("EMBEDDED_REDIS_PATH", str(instance / "redis.db")),
        "SECRET_KEY": env.get("SECRET_KEY") or ("dev-only-secret" if local_mode else ""),
        "API_TOKEN": env.get("API_TOKEN") or ("dev-api-token" if local_mode else ""),
        # Key of the hashes that keep opt-outs and do-not-call entries (core.suppression);
        # empty: SECRET_KEY. Changing it forgets every entry, so set it once and keep it.
        "SUPPRESSION_HASH_KEY": env.get("SUPPRESSION_HASH_KEY", ""),
        "LOCAL_MODE": local_mode,
        "TWILIO_ACCOUNT_SID": sid or LOCAL_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": token or LOCAL_AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": env.get("TWILIO_PHONE_NUMBER") or LOCAL_PHONE_NUMBER,
        "TWILIO_API_BASE_URL": env.get("TWILIO_API_BASE_URL")
        or ("http://127.0.0.1:5099" if local_mode else "https://api.twilio.com"),
        "TWILIO_HTTP_TIMEOUT": float(env.get("TWILIO_HTTP_TIMEOUT", "10")),
        "PORT": port,
        # Where Twilio reaches us. Empty: the request's own URL (after ProxyFix) is used.
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "").rstrip("/"),
        "PROXY_HOPS": _int(env.get("PROXY_HOPS"), 0),
        "VALIDATE_TWILIO_SIGNATURE": _bool(env.get("VALIDATE_TWILIO_SIGNATURE"), True),
        "TRANSFER_NUMBER": env.get("TRANSFER_NUMBER", ""),
        "TRANSFER_HOURS": env.get("TRANSFER_HOURS", "08:00-20:00"),
        "TRANSFER_TIMEZONE": env.get("TRANSFER_TIMEZONE", "America/New_York"),
        "DEFAULT_SURVEY": env.get("DEFAULT_SURVEY", "post-call"),
        "RECORDINGS_DIR": env.get("RECORDINGS_DIR", str(instance / "recordings")),
        # local: files in RECORDINGS_DIR (one host); database: shared by every host.
        "RECORDING_STORAGE": _choice(env, "RECORDING_STORAGE", ("local", "database")),
        "RECORDING_MAX_SECONDS": _int(env.get("RECORDING_MAX_SECONDS"), 120),
        "RECORDING_MAX_BYTES": _int(env.get("RECORDING_MAX_BYTES"), 20_000_000),
        "DELETE_TWILIO_RECORDING_AFTER_DOWNLOAD": _bool(
            env.get("DELETE_TWILIO_RECORDING_AFTER_DOWNLOAD")
        ),
        "RECORDING_RETENTION_DAYS": _int(env.get("RECORDING_RETENTION_DAYS"), 90),
        "TRANSCRIPTION_ENGINE": env.get("TRANSCRIPTION_ENGINE", "faster-whisper"),
        "WHISPER_MODEL_PATH": env.get("WHISPER_MODEL_PATH") or None,
        "WHISPER_CHECKPOINT": env.get("WHISPER_CHECKPOINT") or None,
        "WHISPER_THREADS": _int(env.get("WHISPER_THREADS"), 1),
        "WHISPER_BEAM_SIZE": _int(env.get("WHISPER_BEAM_SIZE"), 5),
        "WHISPER_CACHE_DIR": env.get("WHISPER_CACHE_DIR", str(instance / "models")),
        "WHISPER_DEVICE": env.get("WHISPER_DEVICE") or "cpu",
        # Recordings a transcription worker decodes together, and how long it waits for more.
        "WHISPER_BATCH_SIZE": _int(env.get("WHISPER_BATCH_SIZE"), 8),
        "TRANSCRIPTION_BATCH_WAIT_MS": _int(env.get("TRANSCRIPTION_BATCH_WAIT_MS"), 0),
        # Terms for surveys that list none of their own (transcription.vocabulary); "": none.
        "WHISPER_VOCABULARY": env.get("WHISPER_VOCABULARY", DEFAULT_VOCABULARY),
        "ESCALATION_WEBHOOK_URL": env.get("ESCALATION_WEBHOOK_URL", ""),
        "ESCALATION_SMS_TO": env.get("ESCALATION_SMS_TO", ""),
        "ESCALATION_EMAIL_TO": env.get("ESCALATION_EMAIL_TO", ""),
        "ESCALATION_EMAIL_FROM": env.get("ESCALATION_EMAIL_FROM", "callbacks@localhost"),
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": _int(env.get("SMTP_PORT"), 25),
        "CALLBACK_EVALUATE_INLINE": _bool(env.get("CALLBACK_EVALUATE_INLINE"), True),
        "CALLBACK_BACKOFF_MINUTES": tuple(
            int(m) for m in env.get("CALLBACK_BACKOFF_MINUTES", "30,120,1440").split(",") if m
        ),
        "CALLBACK_AGENT_RING_SECONDS": _int(env.get("CALLBACK_AGENT_RING_SECONDS"), 25),
        "URGENT_SLA_MINUTES": _int(env.get("URGENT_SLA_MINUTES"), 10),
        "STANDARD_SLA_MINUTES": _int(env.get("STANDARD_SLA_MINUTES"), 60),
        "CALLBACK_MAX_ATTEMPTS": _int(env.get("CALLBACK_MAX_ATTEMPTS"), 3),
        # A callback call that ended this long ago with no outcome recorded is escalated.
        "CALLBACK_OUTCOME_GRACE_MINUTES": _int(env.get("CALLBACK_OUTCOME_GRACE_MINUTES"), 30),
        # "Did we put it right?" this many hours after a callback reached the customer
        # (then inside their calling hours); 0 asks at once.
        "FOLLOW_UP_DELAY_HOURS": float(env.get("FOLLOW_UP_DELAY_HOURS") or 24),
        "RESCHEDULE_MAX_DAYS": _int(env.get("RESCHEDULE_MAX_DAYS"), 30),
        # Texts: who we are in HELP replies, and how long a text survey waits for replies.
        "TEXT_SENDER_NAME": env.get("TEXT_SENDER_NAME") or "Customer Care",
        "TEXT_SURVEY_HOURS": float(env.get("TEXT_SURVEY_HOURS") or 24),
        "CALLING_HOURS": env.get("CALLING_HOURS", "08:00-21:00"),
        # Countries (ISO 3166 codes) whose numbers we dial; premium-rate, toll-free and
        # other special numbers are refused whatever the country (core.reachability).
        "DIAL_ALLOWED_COUNTRIES": env.get("DIAL_ALLOWED_COUNTRIES", "US,CA"),
        "SURVEY_MIN_DAYS_BETWEEN": _int(env.get("SURVEY_MIN_DAYS_BETWEEN"), 7),
        "DEFAULT_TIMEZONE": env.get("DEFAULT_TIMEZONE", "America/New_York"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), not local_mode),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
    }
