"""SQLAlchemy models: one table per thing, named as the API names it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The largest value an Integer column holds on every database we run (PostgreSQL's integer is 32 bits): every
# integer a client sends that reaches a query is bounded by it in its schema, so none overflows in the driver.
MAX_DB_INT = 2**31 - 1
# The largest integer SQLite and PostgreSQL (bigint) take at all; for numbers that are not stored, like an expiry.
MAX_INT64 = 2**63 - 1


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """An account: local (password) or from single sign-on (issuer + subject), with its roles."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)  # argon2id; None: SSO only
    roles: Mapped[list[Any]] = mapped_column(default=list)  # of "user", "staff", "admin"
    sso_issuer: Mapped[str | None] = mapped_column(String(512), nullable=True)
    sso_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # An admin's override of the deployment's quotas for this user (None: the settings' defaults).
    quota_jobs_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quota_storage_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject", name="uq_users_sso"),)


class ApiKey(Base):
    """A user's API key: it acts as its user, within its scopes. Only the secret's hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BrowserSession(Base):
    """A signed-in browser: the cookie holds the token, this row its hash (so a stolen database opens nothing)."""

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's token
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16), default="session")  # session | sso
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AuditEvent(Base):
    """A security event (login, failed login, key created or revoked, role changed, password reset)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # whom it concerns
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # who did it, if not that user
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(512))
    owner_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # None: anonymous
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    api: Mapped[str] = mapped_column(String(16), default="v1")  # v1 | process (the PixTools shape)
    pipeline: Mapped[dict[str, Any]] = mapped_column()
    operations: Mapped[list[Any] | None] = mapped_column(nullable=True)
    input_ids: Mapped[list[Any]] = mapped_column()
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    base_url: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    result_metadata: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    archive_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # None: anonymous
    # Set when its owner cancels it while it runs: the worker stops at the next step boundary.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    outputs: Mapped[list[JobOutput]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="(JobOutput.input_index, JobOutput.node_index)"
    )

    __table_args__ = (
        Index("ix_jobs_created_at_id", "created_at", "id"),
        Index("ix_jobs_owner_id_created_at_id", "owner_id", "created_at", "id"),
    )


class JobOutput(Base):
    __tablename__ = "job_outputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    input_index: Mapped[int] = mapped_column(Integer)
    node_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    media_type: Mapped[str] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)

    job: Mapped[Job] = relationship(back_populates="outputs")


class IdempotencyKey(Base):
    """Embedded idempotency store: one row per key; the primary key makes concurrent claims safe."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32))
    # SHA-256 (hex) of what the request asked for; NULL for keys claimed before it was kept (they match any request).
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PaletteVersion(Base):
    """A drill palette, versioned: importing a palette under an existing name adds a version."""

    __tablename__ = "palettes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    colors: Mapped[list[Any]] = mapped_column()  # [{"code", "name", "rgb": [r, g, b]}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ux_palettes_name_version", "name", "version", unique=True),)


class Order(Base):
    """A shop order; its state follows the storefront state machine."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the shop's order id
    state: Mapped[str] = mapped_column(String(32), index=True)
    items: Mapped[list[Any]] = mapped_column()  # [{"photo": asset id, "settings": {...}, "palette": name}]
    version: Mapped[int] = mapped_column(Integer, default=0)  # latest render version
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderEvent(Base):
    """Every accepted storefront event once (the primary key makes duplicates harmless)."""

    __tablename__ = "order_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column()


class OrderRender(Base):
    """The print files of one order item at one version: rendered exactly once (unique key)."""

    __tablename__ = "order_renders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    item_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # PENDING | RUNNING | COMPLETED | FAILED
    settings: Mapped[dict[str, Any]] = mapped_column()
    palette_name: Mapped[str] = mapped_column(String(64))
    palette_version: Mapped[int] = mapped_column(Integer)
    plan_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    preview_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    guide_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    quality: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The process that claimed it last (worker.owner: host/pid/start time), and how many times it was claimed: a
    # RUNNING render is another process's to resume only once that process is gone (storefront.tasks.render_order).
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # When it was last claimed: a claim older than the lease (worker.retry.claim_lease_s) is past any time limit,
    # so its holder, wherever it runs, is dead or stuck, and the render may be taken over.
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When its message was last handed to the runner; None: never (the broker was down), so a sweep queues it.
    queued_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ux_order_renders_once", "order_id", "version", "item_index", unique=True),)
