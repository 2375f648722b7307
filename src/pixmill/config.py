"""One Settings object, read from PIXMILL_* environment variables; the defaults are embedded mode."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pixmill.canvas.types import Palette, Palettes
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.limits import Limits
from pixmill.ml.device import DeviceSetting
from pixmill.ml.model_files import MLSetup

# Signature algorithms a single sign-on token may use: public-key ones only, so no shared secret is involved and a
# token can never be "signed" with `none` or with the provider's public key as an HMAC secret.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIXMILL_", extra="ignore")

    data_dir: Path = Field(default=Path("pixmill-data"), description="SQLite database and local files.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    storage: Literal["local", "s3"] = Field(
        default="local", description="local: files under storage_dir; s3: a bucket."
    )
    storage_dir: Path | None = Field(default=None, description="Root of local storage; default data_dir/files.")
    s3_endpoint_url: str | None = Field(default=None, description="S3 endpoint URL; default: AWS's for the region.")
    s3_region: str = Field(default="us-east-1", description="S3 region (also the region requests are signed for).")
    s3_bucket: str = Field(default="pixmill", description="S3 bucket; created at startup if missing.")
    s3_access_key: str | None = Field(default=None, description="S3 access key; default: boto3's credential chain.")
    s3_secret_key: str | None = Field(default=None, description="S3 secret key.")
    secret_key: str | None = Field(
        default=None, description="Key for signed URLs; default: generated once and kept in data_dir."
    )
    models_dir: Path | None = Field(default=None, description="Model files (ML); default data_dir/models.")
    runner: Literal["inprocess", "celery"] = Field(
        default="inprocess", description="inprocess: jobs on the API's worker pools; celery: on `pixmill worker`s."
    )
    broker_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672//", description="RabbitMQ URL of the celery runner."
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0): idempotency keys, job events and the read cache shared by "
        "every API instance and worker; default: embedded (database table, in-process events and cache).",
    )
    redis_prefix: str = Field(default="pixmill:", description="Prefix of every Redis key and channel pixmill uses.")
    # Retries of a job on a passing error (celery runner): the n-th waits a random time between half and all of
    # min(job_retry_backoff_max_s, job_retry_backoff_s * 2**n). The defaults wait 95 s at the least and 190 s at the
    # most in all, so a job rides out a 60 s storage or database outage (worker/retry.retry_window).
    job_retries: int = Field(default=12, ge=0, le=50, description="Celery retries of a job on passing errors.")
    job_retry_backoff_s: float = Field(default=2.0, ge=0, description="First retry delay; doubles each time.")
    job_retry_backoff_max_s: float = Field(default=20.0, ge=0, description="Cap of one retry delay.")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    ml_workers: int = Field(default=1, ge=1, le=16, description="Processes of the ML pool (models are big).")
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower the CPU priority of the pool processes is than the API's (nice); 0: the same.",
    )
    shutdown_grace_s: float = Field(
        default=20.0, ge=0, description="At SIGTERM, how long running jobs may go on before their processes are killed."
    )
    ml_device: DeviceSetting = Field(
        default="auto", description="Where ML inference runs: auto takes a CUDA GPU when torch sees one."
    )
    retention_hours: float = Field(default=24.0, gt=0)
    cleanup_interval_s: float = Field(default=600.0, gt=0)

    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="Largest single file.")
    max_request_bytes: int = Field(default=200 * 1024 * 1024, ge=1, description="Largest request body.")
    max_files_per_upload: int = Field(default=50, ge=1)
    quota_jobs_per_minute: int = Field(
        default=120, ge=0, description="Jobs one principal may create per minute (0: no limit); admins may override."
    )
    quota_storage_bytes: int = Field(
        default=5 * 1024**3, ge=0, description="Bytes one user may keep stored (0: no limit); admins may override."
    )
    max_pixels: int = Field(default=100_000_000, ge=1)
    max_dimension: int = Field(default=30_000, ge=1)
    max_frames: int = Field(default=200, ge=1)
    job_timeout_s: float = Field(default=300.0, gt=0)

    # Slow clients (pixmill serve): a connection must finish its request headers in header_timeout_s, and a request
    # body must not stall longer than body_timeout_s between two reads (408, connection closed).
    header_timeout_s: float = Field(default=5.0, gt=0, description="Deadline for a request's headers.")
    body_timeout_s: float = Field(default=15.0, gt=0, description="Longest pause while a request body is read.")
    keep_alive_s: int = Field(
        default=75,
        ge=1,
        description="Idle time before a keep-alive connection is closed (longer than clients keep theirs).",
    )

    webhook_allow_private: bool = False
    webhook_attempts: int = Field(default=4, ge=1, le=20)
    webhook_backoff_s: float = Field(default=2.0, ge=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_circuit_failures: int = Field(
        default=5, ge=1, description="Failed webhook attempts in a row to one host that open its circuit."
    )
    webhook_circuit_reset_s: float = Field(
        default=60.0, gt=0, description="How long an open webhook circuit skips its host before one trial attempt."
    )

    metrics_dir: Path | None = Field(
        default=None,
        description="Where this host's processes write their Prometheus samples (multiprocess mode); default "
        "data_dir/metrics. One directory per host: never shared between hosts or containers.",
    )
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token a scraper sends to GET /metrics; unset: /metrics answers loopback clients only.",
    )

    render_allow_unsigned: bool = Field(default=False, description="Serve /render/unsafe/… URLs without a signature.")
    render_cache_max_age_s: int = Field(default=86400, ge=0, description="Cache-Control max-age of renders.")

    storefront_secret: str | None = Field(default=None, description="Shared secret of the shop's signed events.")
    storefront_tolerance_s: int = Field(default=300, ge=1, description="Accepted age of a signed event.")
    render_sweep_s: float = Field(
        default=30.0,
        gt=0,
        description="How often each API process queues order renders left unqueued (broker down) or past their lease.",
    )
    smtp_url: str | None = Field(
        default=None, description="Mail server for password resets: smtp://[user:pass@]host[:port][?starttls=true]."
    )
    mail_from: str = Field(default="pixmill <pixmill@localhost>", description="The From of pixmill's e-mails.")
    password_reset_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400, description="Life of a reset link.")
    anonymous: Literal["off", "jobs"] = Field(
        default="jobs",
        description="jobs: anonymous callers may upload, create jobs and read a job by id; off: every /api route "
        "but health and sign-in needs an account.",
    )
    order_retention_days: float = Field(default=90, gt=0, description="How long an order's photo and files live.")

    # Single sign-on with an OpenID Connect provider (identity/oidc.py, the sso domain): off unless both the issuer
    # and the client id are set.
    oidc_issuer: str | None = Field(
        default=None, description="OpenID Connect issuer URL (exactly as tokens name it); unset: no single sign-on."
    )
    oidc_client_id: str | None = Field(default=None, description="pixmill's client id at the OpenID provider.")
    oidc_client_secret: str | None = Field(
        default=None, description="The client's secret (confidential client); unset: a public client with PKCE."
    )
    oidc_audience: str | None = Field(
        default=None, description="The `aud` bearer access tokens must carry; default: the client id."
    )
    oidc_roles_claim: str = Field(
        default="realm_access.roles", description="Dotted path of the claim listing the user's roles (Keycloak's)."
    )
    oidc_algorithms: str = Field(
        default="RS256,ES256", description="Comma-separated signature algorithms accepted (asymmetric only)."
    )
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=600, description="Clock skew allowed on exp, nbf and iat.")
    oidc_jwks_ttl_s: float = Field(default=600.0, gt=0, description="How long the provider's signing keys are cached.")
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback URL registered at the provider; default: <base URL>/api/v1/auth/sso/callback.",
    )
    # Accounts (issue 14): who may register, how long a browser stays signed in, and the sign-in throttle. Failed
    # sign-ins are counted in the audit log, so every API process sees the same count.
    auth_cache_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="How long a process remembers what an API key or bearer token stood for (0: not at all).",
    )
    registration: Literal["open", "invite", "off"] = Field(
        default="open",
        description="Who may register: open (anyone), invite (with an admin's invite), off (only `pixmill users`).",
    )
    session_ttl_hours: float = Field(
        default=336, gt=0, le=24 * 366, description="How long a browser session lasts unused (it slides on use)."
    )
    login_failure_window_s: int = Field(
        default=900, ge=1, le=86400 * 30, description="How far back failed sign-ins count towards the throttle."
    )
    login_max_failures_account: int = Field(
        default=5, ge=1, description="Failed sign-ins to one account within the window before it is throttled."
    )
    login_max_failures_address: int = Field(
        default=20, ge=1, description="Failed sign-ins from one address within the window before it is throttled."
    )
    login_backoff_s: int = Field(
        default=30, ge=1, description="Wait after the last failure once throttled; doubles with each further failure."
    )
    login_backoff_max_s: int = Field(default=900, ge=1, description="Cap of the throttle's wait.")

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: str) -> str:
        algorithms = [a.strip() for a in value.split(",") if a.strip()]
        refused = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if refused or not algorithms:
            accepted = ", ".join(ASYMMETRIC_ALGORITHMS)
            raise ValueError(f"{refused or value!r}: accepted are {accepted} (never none or HS*)")
        return ",".join(algorithms)

    @property
    def oidc_enabled(self) -> bool:
        """Single sign-on is on when both the issuer and the client id are set."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def oidc_algorithm_list(self) -> tuple[str, ...]:
        return tuple(self.oidc_algorithms.split(","))

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'pixmill.db'}"

    @property
    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.resolved_data_dir / "files").expanduser().resolve()

    @property
    def resolved_metrics_dir(self) -> Path:
        return (self.metrics_dir or self.resolved_data_dir / "metrics").expanduser().resolve()

    @property
    def resolved_models_dir(self) -> Path:
        return (self.models_dir or self.resolved_data_dir / "models").expanduser().resolve()

    @cached_property
    def signing_key(self) -> bytes:
        """The URL-signing key: the setting, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.resolved_data_dir / "secret.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        return path.read_bytes().strip()

    def run_context(self, deadline: float | None = None, palettes: Mapping[str, Palette] | None = None) -> RunContext:
        """What a pipeline run may know of this deployment: limits, deadline, models, palettes."""
        return RunContext(
            limits=self.limits,
            deadline=deadline,
            resources=(MLSetup(self.resolved_models_dir, self.ml_device), Palettes(palettes or {})),
        )

    @property
    def limits(self) -> Limits:
        return Limits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            max_dimension=self.max_dimension,
            max_frames=self.max_frames,
        )
