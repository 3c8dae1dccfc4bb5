"""Typed settings, read once from the environment (prefix ``BOOKING_``).

With no settings at all the service runs on the embedded default: a SQLite file and
in-process notification delivery under ``BOOKING_DATA_DIR`` (``./var``), with secret keys
generated on first start and kept in ``var/secrets.json``. In production every secret must
be given, and placeholders are refused.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"", "change-me", "changeme", "secret", "please-change", "dev", "test"}
PLACEHOLDER_WORDS = ("change", "replace", "placeholder", "example", "your-", "xxxx", "secret-key")
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """The settings cannot be used (e.g. a placeholder secret in production)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""  # default: sqlite file under data_dir (see resolve())
    redis_url: str | None = None
    # the arq queue; deployments sharing one Redis database keep apart by naming theirs
    queue_name: str = "booking:queue"

    # JWT signing key, and the key that encrypts and hashes personal data (ID numbers,
    # phones). Separate so that rotating one does not force re-encrypting the other.
    secret_key: str = ""
    data_key: str = ""  # base64 of at least 32 random bytes

    default_locale: Literal["zh_Hans_CN", "en"] = "zh_Hans_CN"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"

    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    token_audience: str = "booking-api"
    token_issuer: str = "booking"
    # argon2 cost; tests lower it, production keeps the library's defaults
    password_time_cost: int = 3
    password_memory_cost_kib: int = 65536
    # rate limits (booking.security.ratelimit): rules to override, as JSON
    # {"booking": [per account, per client address, window seconds]}
    rate_limits_enabled: bool = True
    rate_limits: dict[str, tuple[int, int, int]] = Field(default_factory=dict)
    # proxies whose X-Forwarded-For is believed (addresses or CIDRs), e.g. ["10.0.0.0/8"]
    trusted_proxies: list[str] = Field(default_factory=list)
    # clerks and admins must sign in with a second factor (TOTP); unset: on in production,
    # off in development and tests (staff who enrolled must use it all the same)
    staff_mfa_required: bool | None = None
    mfa_token_ttl_seconds: int = Field(default=300, ge=60, le=1800)
    # how long each process trusts what it read of an account behind a token (revocation,
    # logout and office moves reach the other API replicas within this time)
    account_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # how long a process refuses a slot from memory after the database said it was full
    # (refusals only, never acceptances; 0 = always ask the database)
    sold_out_memory_seconds: float = Field(default=1.0, ge=0, le=10)
    # how long before a release moment each API process reads the fixed facts of the slots
    # it releases (booking.slots.release), so the moment's first bookings find them cached
    # (0 = off: the first booking of each slot reads them)
    release_prefetch_seconds: float = Field(default=90.0, ge=0, le=600)

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "婚姻登记预约 <no-reply@booking.invalid>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    # "log" writes each SMS to the log; "aliyun" sends it through Alibaba Cloud SMS (SendSms):
    # a registered template per notification kind, the outbox row id as its OutId.
    sms_provider: Literal["log", "aliyun"] = "log"
    sms_per_number_per_hour: int = 5
    sms_access_key_id: str | None = None
    sms_access_key_secret: str | None = None
    sms_sign_name: str | None = None  # the approved signature (签名), shown as 【...】
    # notification kind (or "kind@en" for English recipients) -> template code, as JSON
    sms_templates: dict[str, str] = Field(default_factory=dict)
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    sms_region: str = "cn-hangzhou"

    upload_max_bytes: int = 10 * 1024 * 1024
    # retention (booking.ops.retention): scans, days after the application's decision;
    # the parties' personal data, days after an appointment or sign-up ended (at least 60:
    # the no-show policy counts by the ID hash over its window)
    retention_scan_days: int = Field(default=30, ge=0, le=3650)
    retention_personal_data_days: int = Field(default=180, ge=60, le=3650)
    # every other request body (JSON)
    json_max_bytes: int = Field(default=64 * 1024, ge=1024)

    cors_origins: list[str] = Field(default_factory=list)
    # hot-path caches: the availability answer and the office's rules, per process
    availability_cache_seconds: float = 1.0
    office_cache_seconds: float = 5.0

    # per process: API replicas x (pool + overflow) + workers must fit max_connections
    db_pool_size: int = 10
    db_max_overflow: int = 5
    # the hot paths' own asyncpg pool (one statement per checkout); opened with min_size
    # connections at its first use and never shrunk for idleness (a release at 08:30 after a
    # quiet night should not open connections while the rush waits)
    db_fast_pool_size: int = 10
    db_fast_pool_min_size: int = Field(default=1, ge=0)
    # the longest a request waits for a row another transaction holds; then 503 (Retry-After)
    lock_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    log_level: str = "INFO"

    # Metrics (Prometheus). With a token, /metrics wants `Authorization: Bearer <token>`;
    # without one it is open in development and off (404) in production.
    metrics_token: str | None = None
    # the worker's own /metrics endpoint (port 0: none)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # scrape-time figures read from the database (outbox, seats left) are reused this long
    metrics_snapshot_seconds: float = 5.0

    # Background delivery: the embedded default delivers in-process when no Redis is set.
    outbox_poll_seconds: float = 2.0
    # in-process delivery (no Redis) waits at most this long per message for a moment with no
    # request in flight (booking.background.load): the requests come first
    background_yield_seconds: float = Field(default=1.0, ge=0, le=60)
    notification_job_timeout_seconds: int = 20
    notification_max_attempts: int = 6
    # a delivery holds its row for job timeout + this margin; a row handed to the queue
    # but not started within the requeue interval is handed on again (lost job)
    notification_lease_margin_seconds: int = 10
    notification_requeue_seconds: int = 60
    # deliveries on the wire at once per worker process: what a crash may repeat, at most
    notification_concurrency: int = Field(default=8, ge=1, le=200)
    # On SIGTERM the worker takes no new delivery and waits this long for those on the wire
    # to finish and be marked. At least job timeout + lease margin (a whole delivery), and
    # below the deploy's grace (compose stop_grace_period, k8s terminationGracePeriodSeconds).
    worker_stop_grace_seconds: float = 30.0

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'booking.sqlite3').as_posix()}"
        if self.staff_mfa_required is None:
            self.staff_mfa_required = self.env == "production"
        if self.sms_provider == "aliyun":
            missing = [f"BOOKING_SMS_{name.upper()}" for name in ("access_key_id", "access_key_secret", "sign_name")
                       if not getattr(self, f"sms_{name}")]
            if missing:
                raise SettingsError(f"BOOKING_SMS_PROVIDER=aliyun needs {', '.join(missing)}")
        return self

    # --- derived -------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    def data_key_bytes(self) -> bytes:
        return base64.b64decode(self.data_key)

    def ensure_secrets(self) -> Settings:
        """Fill in or check the secret keys; call once at start-up.

        Development and test: a missing key is generated and kept in ``data_dir/secrets.json``
        so that tokens and encrypted data survive restarts. Production: refuse to start.
        """
        if self.env == "production":
            problems = []
            lowered = self.secret_key.strip().lower()
            if (lowered in PLACEHOLDERS or len(self.secret_key) < MIN_SECRET_LENGTH
                    or any(word in lowered for word in PLACEHOLDER_WORDS)):
                problems.append(f"BOOKING_SECRET_KEY must be set to at least {MIN_SECRET_LENGTH} random characters")
            try:
                if len(base64.b64decode(self.data_key, validate=True)) < 32:
                    raise ValueError
            except ValueError:
                problems.append("BOOKING_DATA_KEY must be base64 of at least 32 random bytes")
            if self.is_sqlite:
                problems.append("BOOKING_DATABASE_URL must point to PostgreSQL in production")
            if self.sms_provider == "aliyun" and (self.sms_access_key_secret or "").strip().lower() in PLACEHOLDERS:
                problems.append("BOOKING_SMS_ACCESS_KEY_SECRET must be the real AccessKey secret")
            token = (self.metrics_token or "").strip().lower()
            if self.metrics_token is not None and (len(token) < MIN_SECRET_LENGTH or token in PLACEHOLDERS
                                                   or any(word in token for word in PLACEHOLDER_WORDS)):
                problems.append(f"BOOKING_METRICS_TOKEN must be at least {MIN_SECRET_LENGTH} random characters "
                                "(or unset: /metrics is then off)")
            if problems:
                raise SettingsError("; ".join(problems))
            return self
        if self.secret_key and self.data_key:
            return self
        path = self.data_dir / "secrets.json"
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        changed = False
        if "secret_key" not in stored:
            stored["secret_key"] = secrets.token_urlsafe(48)
            changed = True
        if "data_key" not in stored:
            stored["data_key"] = base64.b64encode(secrets.token_bytes(32)).decode()
            changed = True
        if changed:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh)
            tmp.replace(path)
        self.secret_key = self.secret_key or stored["secret_key"]
        self.data_key = self.data_key or stored["data_key"]
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings().ensure_secrets()
